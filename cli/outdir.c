/* cli/outdir.c — output folders written atomically (DESIGN §5: a failure leaves nothing at -o): checked
 * first, filled as a temporary sibling, renamed into place at the end. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        cli_remove_tree(p);
    }
    closedir(d);
    rmdir(path);
}

bool cli_write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, n, f) == n;
    if (f && fclose(f) != 0) ok = false;
    if (!ok) m2c_io_error("cannot write '%s': %s", path, strerror(errno));
    return ok;
}

bool cli_outdir_check(const char *dir, bool force)
{
    struct stat st;
    if (stat(dir, &st) != 0) return true;
    if (!S_ISDIR(st.st_mode)) {
        m2c_io_error("'%s' exists and is not a folder", dir);
        return false;
    }
    DIR *d = opendir(dir);
    bool empty = true;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
    if (d) closedir(d);
    if (!empty && !force) {
        m2c_usage_error("output folder '%s' is not empty (use --force to replace it)", dir);
        return false;
    }
    return true;
}

char *cli_outdir_begin(const char *dir)
{
    char *parent = strdup(dir);
    for (char *p = parent + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(parent, 0777);
        *p = '/';
    }
    free(parent);
    size_t n = strlen(dir) + 64;
    char *tmp = malloc(n);
    snprintf(tmp, n, "%s.ml2candle-tmp-%d", dir, (int)getpid());
    cli_remove_tree(tmp);
    if (mkdir(tmp, 0777) != 0) {
        m2c_io_error("cannot create '%s': %s", tmp, strerror(errno));
        free(tmp);
        return NULL;
    }
    return tmp;
}

bool cli_outdir_end(const char *dir, char *tmp, bool ok)
{
    if (ok) {
        size_t n = strlen(dir) + 64;
        char *old = malloc(n);
        snprintf(old, n, "%s.ml2candle-old-%d", dir, (int)getpid());
        struct stat st;
        bool had = stat(dir, &st) == 0;
        if (had && rename(dir, old) != 0) {
            m2c_io_error("cannot replace '%s': %s", dir, strerror(errno));
            ok = false;
        } else if (rename(tmp, dir) != 0) {
            m2c_io_error("cannot create '%s': %s", dir, strerror(errno));
            if (had) rename(old, dir);
            ok = false;
        } else if (had) {
            cli_remove_tree(old);
        }
        free(old);
    }
    if (!ok) cli_remove_tree(tmp);
    free(tmp);
    return ok;
}
