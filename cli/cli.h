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

/* validate.c */
int cli_validate(int argc, char **argv);

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
