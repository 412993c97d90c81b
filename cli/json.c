/* cli/json.c — writing JSON for `inspect --json`: commas and escaping handled in one place. */
#include "cli.h"

static void separate(Json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->need_comma[j->depth]) m2c_buf_puts(j->out, ",");
    if (j->depth > 0) {
        m2c_buf_puts(j->out, "\n");
        for (int i = 0; i < j->depth; i++) m2c_buf_puts(j->out, "  ");
    }
    j->need_comma[j->depth] = true;
}

static void open_(Json *j, char c)
{
    separate(j);
    m2c_buf_putc(j->out, c);
    j->depth++;
    j->need_comma[j->depth] = false;
}

static void close_(Json *j, char c)
{
    bool had = j->need_comma[j->depth];
    j->depth--;
    if (had) {
        m2c_buf_puts(j->out, "\n");
        for (int i = 0; i < j->depth; i++) m2c_buf_puts(j->out, "  ");
    }
    m2c_buf_putc(j->out, c);
}

void json_begin_object(Json *j) { open_(j, '{'); }
void json_end_object(Json *j) { close_(j, '}'); }
void json_begin_array(Json *j) { open_(j, '['); }
void json_end_array(Json *j) { close_(j, ']'); }

static void raw_string(Json *j, const char *s)
{
    m2c_buf_putc(j->out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            m2c_buf_printf(j->out, "\\%c", *p);
        else if (*p == '\n')
            m2c_buf_puts(j->out, "\\n");
        else if (*p < 0x20)
            m2c_buf_printf(j->out, "\\u%04x", *p);
        else
            m2c_buf_putc(j->out, (char)*p);
    }
    m2c_buf_putc(j->out, '"');
}

void json_key(Json *j, const char *key)
{
    separate(j);
    raw_string(j, key);
    m2c_buf_puts(j->out, ": ");
    j->after_key = true;
}

void json_string(Json *j, const char *s)
{
    separate(j);
    raw_string(j, s ? s : "");
}

void json_int(Json *j, long long v)
{
    separate(j);
    m2c_buf_printf(j->out, "%lld", v);
}

void json_null(Json *j)
{
    separate(j);
    m2c_buf_puts(j->out, "null");
}
