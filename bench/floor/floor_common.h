/* User-space side shared by the floor consumers. */
#ifndef FLOOR_COMMON_H
#define FLOOR_COMMON_H

#include <bpf/libbpf.h>
#include <signal.h>

extern volatile sig_atomic_t floor_stop;

/* SIGINT/SIGTERM set floor_stop; libbpf warnings go to stderr. */
void floor_setup(void);
long long floor_mono_ns(void);
/* Polls rb (waiting at most poll_ms) until floor_stop, then drains what is left. */
int floor_run(struct ring_buffer *rb, int poll_ms);
/* Prints "ready" on stdout (after every program is attached). */
void floor_ready(void);

#endif
