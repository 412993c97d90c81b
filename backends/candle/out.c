/* backends/candle/out.c — Rust source text: lines at the current indentation (four spaces, as rustfmt). */
#include "cg.h"

static void vline(CgOut *o, const char *fmt, va_list ap)
{
    for (int i = 0; i < o->indent; i++) m2c_buf_puts(&o->buf, "    ");
    m2c_buf_vprintf(&o->buf, fmt, ap);
    m2c_buf_putc(&o->buf, '\n');
}

void cg_line(CgOut *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(o, fmt, ap);
    va_end(ap);
}

void cg_open(CgOut *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(o, fmt, ap);
    va_end(ap);
    o->indent++;
}

void cg_close(CgOut *o, const char *fmt, ...)
{
    o->indent--;
    va_list ap;
    va_start(ap, fmt);
    vline(o, fmt, ap);
    va_end(ap);
}

void cg_blank(CgOut *o)
{
    m2c_buf_putc(&o->buf, '\n');
}
