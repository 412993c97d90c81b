/* cli/cli.h — the command-line driver: main.c dispatches to one file per subcommand. */
#ifndef CLI_H
#define CLI_H

#include "frontend.h"
#include "passes.h"

/* inspect.c */
int cli_inspect(int argc, char **argv);

/* convert.c */
int cli_convert(int argc, char **argv);

/* kernels.c */
int cli_kernels(int argc, char **argv);
IrGraph *cli_load(const char *path);   /* an ONNX model, or text IR when the name ends in .ir */

/* kernels_cpu.c — `kernels --target cpu` (the LLVM backend's static library) */
int cli_kernels_cpu(int argc, char **argv);

/* validate.c */
int cli_validate(int argc, char **argv);

/* run.c — `run MODEL --inputs IN -o OUT [--engine ref|llvm]` */
int cli_run(int argc, char **argv);

/* outdir.c — output folders written atomically: checked, filled as a temporary sibling, renamed into place */
bool cli_outdir_check(const char *dir, bool force);   /* false (reported): exists and is not empty, or a file */
char *cli_outdir_begin(const char *dir);              /* the temporary folder (malloc'd), NULL if reported */
bool cli_outdir_end(const char *dir, char *tmp, bool ok);   /* renames tmp to dir if ok, else removes it; frees tmp */
bool cli_write_file(const char *path, const char *data, size_t n);
void cli_remove_tree(const char *path);

/* json.c — a small JSON writer with proper string escaping */
typedef struct {
    M2cBuf *out;
    int depth;
    bool need_comma[64];
    bool after_key;
} Json;
void json_begin_object(Json *j);
void json_end_object(Json *j);
void json_begin_array(Json *j);
void json_end_array(Json *j);
void json_key(Json *j, const char *key);
void json_string(Json *j, const char *s);
void json_int(Json *j, long long v);
void json_null(Json *j);

/* main.c */
void cli_usage(FILE *f);

#endif
