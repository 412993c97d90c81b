/* cli/main.c — `ml2candle`: dispatch to a subcommand.  The only place that calls exit codes final. */
#include "cli.h"

#include <string.h>

void cli_usage(FILE *f)
{
    fprintf(f,
            "usage: ml2candle MODEL.onnx -o DIR [--name NAME] [--force] [--no-fuse] [--no-kv-cache] [--embed-weights]\n"
            "                 [--kernels cuda|cpu]\n"
            "       ml2candle inspect MODEL.onnx [--json] [--dot FILE] [--after PASS] [--no-fuse]\n"
            "       ml2candle kernels MODEL.onnx -o DIR [--target cuda] [--arch sm_80|sm_90[,...]] [--dtype f32|f16|bf16]\n"
            "                 [--no-ptx] [--force] [--kir]\n"
            "       ml2candle kernels MODEL.onnx -o DIR --target cpu [--cpu x86-64-v2,x86-64-v3|native|NAME] [--dtype ..]\n"
            "                 [--prefix P] [--emit-llvm] [--force] | --print-llvm [--no-opt] [--kernel NAME]\n"
            "       ml2candle validate MODEL.onnx [--device cpu|cuda] [--cpu NAME] [--inputs IN.safetensors]\n"
            "                 [--dtype f32|f16|bf16] [--dim NAME=N]... [--seed N] [--kernel NAME]\n"
            "       ml2candle run MODEL.onnx --inputs IN.safetensors -o OUT.safetensors [--engine ref|llvm] [--threads N]\n"
            "       ml2candle --help | --version\n"
            "\n"
            "MODEL.onnx -o DIR   write a Candle crate: Cargo.toml, src/model.rs, model.safetensors, examples/run.rs\n"
            "  --name NAME    crate name (default: the folder's name)\n"
            "  --force        replace a non-empty DIR\n"
            "  --no-fuse      keep the exported graph's decomposed blocks (no Linear/GELU/norm/attention fusion)\n"
            "  --no-kv-cache  a causal decoder keeps only the exported whole-sequence forward\n"
            "  --embed-weights  also compile the weights into the crate (Model::load_embedded)\n"
            "  --kernels cuda also ship the fused groups as CUDA kernels (PTX for sm_80 and sm_90, by NVRTC), launched\n"
            "                 in place of their candle code under the crate's `cuda` feature on a CUDA device\n"
            "  --kernels cpu  also ship them as a static library by the LLVM backend (x86-64-v2 and -v3 objects,\n"
            "                 picked at run time), which build.rs links on x86-64 Linux: run on the CPU instead of\n"
            "                 their candle code\n"
            "\n"
            "inspect   import the model, run the passes and report inputs and outputs (symbolic dims), opsets,\n"
            "          ops, parameters, repeated layers and every unsupported node\n"
            "  --json         the report as JSON\n"
            "  --dot FILE     write the graph after the passes as Graphviz\n"
            "  --after PASS   print the IR text after PASS (import, infer, fold, dce, canon, fuse, tidy, kv)\n"
            "\n"
            "kernels   the fused groups as CUDA kernels: DIR/<kernel>.cu, .kir (kernel IR), .<arch>.ptx (NVRTC),\n"
            "          m2c_prelude.cuh and manifest.json (argument layout, scalars, launch rule, nodes replaced)\n"
            "  --kir          print the kernel IR of every group (no -o needed)\n"
            "  --no-ptx       write the sources without compiling them (no NVRTC needed)\n"
            "  --target cpu   the LLVM backend's static library libm2c_kernels.a (one object per --cpu variant: by\n"
            "                 default x86-64-v2 and x86-64-v3, picked at run time), m2c_kernels.h, manifest.json\n"
            "\n"
            "validate  run every fused kernel on the GPU (cuda) or this CPU (cpu: the LLVM JIT, the default) on fresh\n"
            "          random inputs against the reference evaluator;\n"
            "          sizes: --dim NAME=N, or the graph inputs' sizes in --inputs, else batch 2 and 13 for others\n"
            "  --dtype f16    store every float argument as f16 (bf16), compare within 1e-2 (f32: 1e-5)\n"
            "\n"
            "run       the whole model on IN's tensors (named by the graph inputs), outputs to OUT by output name:\n"
            "          --engine ref evaluates every node with the reference evaluator; llvm runs every fused group\n"
            "          as its JIT-compiled kernel and the other nodes with the reference evaluator\n"
            "\n"
            "exit codes: 0 ok, 1 invalid or unsupported model, 2 usage, 3 I/O or no NVRTC/CUDA driver/GPU/LLVM,\n"
            "            4 validation mismatch\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return M2C_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_usage(stdout);
        return M2C_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ml2candle %s\n", M2C_VERSION);
        return M2C_EXIT_OK;
    }
    if (strcmp(cmd, "inspect") == 0) return cli_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "kernels") == 0) return cli_kernels(argc - 1, argv + 1);
    if (strcmp(cmd, "validate") == 0) return cli_validate(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cli_run(argc - 1, argv + 1);
    if (cmd[0] != '-' || strcmp(cmd, "-o") == 0) return cli_convert(argc - 1, argv + 1);
    fprintf(stderr, "ml2candle: unknown command '%s'\n", cmd);
    cli_usage(stderr);
    return M2C_EXIT_USAGE;
}
