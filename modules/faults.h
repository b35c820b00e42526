/*
 * Deliberate defects, compiled into the example modules with -D flags, so that every defence of the host (upload
 * preflight, self-test, canary analysis, process isolation, rollback) is exercised by real binaries rather than
 * mocks. A standard build defines none of them and this header then adds nothing to the module.
 *
 *   HP_FAULT_SELF_TEST_FAIL    a logic defect the module's own self-test catches (each module decides where it bites)
 *   HP_FAULT_SLOW_MS=n         every hp_handle sleeps n milliseconds first
 *   HP_FAULT_ERROR_EVERY=n     every n-th hp_handle returns HP_FAULT (deterministic, so tests can count)
 *   HP_FAULT_CRASH_AFTER=n     hp_handle call n+1 dies of a real SIGSEGV
 *   HP_FAULT_HANG_AFTER=n      hp_handle call n+1 never returns
 *   HP_FAULT_ABORT_AFTER=n     hp_handle call n+1 calls abort() (SIGABRT), as a failed assert() does
 *   HP_FAULT_LEAK_KB=n         every hp_handle leaks n KiB of written heap; when malloc fails it aborts
 *   HP_FAULT_LEAK_FD           every hp_handle opens /dev/null and never closes it; once open fails, so does the call
 *   HP_FAULT_INIT_CRASH        hp_init dies of a real SIGSEGV
 *   HP_FAULT_FORBIDDEN_EXPORT  also exports crypto_sm4_override, a name reserved for the crypto subsystem
 *   HP_FAULT_WRONG_ABI         hp_abi_version answers 2
 *   HP_FAULT_STATIC_TLS        keeps a counter in initial-exec TLS, which marks the ELF DF_STATIC_TLS
 *
 * Include once per module, after hotplane_module.h; call hp_fault_before_handle() first thing in hp_handle and
 * hp_fault_on_init() first thing in hp_init.
 */
#ifndef HOTPLANE_FAULTS_H
#define HOTPLANE_FAULTS_H

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#if defined(HP_FAULT_ABORT_AFTER) || defined(HP_FAULT_LEAK_KB)
#include <stdio.h>
#include <stdlib.h>
#endif
#ifdef HP_FAULT_LEAK_KB
#include <string.h>
#endif
#ifdef HP_FAULT_LEAK_FD
#include <fcntl.h>
#endif

#ifdef HP_FAULT_SELF_TEST_FAIL
#define HP_FAULT_LOGIC_DEFECT 1
#else
#define HP_FAULT_LOGIC_DEFECT 0
#endif

#ifdef HP_FAULT_WRONG_ABI
#define HP_REPORTED_ABI_VERSION 2u
#else
#define HP_REPORTED_ABI_VERSION HP_ABI_VERSION
#endif

#if defined(HP_FAULT_CRASH_AFTER) || defined(HP_FAULT_INIT_CRASH)
/* Read through a pointer the compiler cannot prove null: a literal NULL dereference may be compiled to a trap
 * instruction (SIGILL), and the tests want the signal real modules die of. */
static int *volatile hp_fault_null_pointer;

static void hp_fault_segfault(void) {
  *hp_fault_null_pointer = 1;
}
#endif

#ifdef HP_FAULT_STATIC_TLS
/* volatile so the optimiser cannot drop a variable nobody reads: the point is the TLS relocation it leaves behind. */
static __thread volatile uint64_t hp_fault_requests_on_thread __attribute__((tls_model("initial-exec")));
#endif

#ifdef HP_FAULT_FORBIDDEN_EXPORT
HP_EXPORT int32_t crypto_sm4_override(const uint8_t *key, size_t key_len);

int32_t crypto_sm4_override(const uint8_t *key, size_t key_len) {
  (void)key;
  (void)key_len;
  return HP_OK;
}
#endif

#if defined(HP_FAULT_ERROR_EVERY) || defined(HP_FAULT_CRASH_AFTER) || defined(HP_FAULT_HANG_AFTER) || \
    defined(HP_FAULT_ABORT_AFTER) || defined(HP_FAULT_LEAK_KB)
#define HP_FAULT_COUNTS_CALLS 1
static uint64_t hp_fault_handle_calls;
#endif

#ifdef HP_FAULT_LEAK_KB
/* Written, not just allocated: untouched pages would only grow the address space, and a real leak grows the
 * resident set too. Aborting when malloc fails is what xmalloc-style allocators (and most C code) do. */
static void hp_fault_leak_memory(void) {
  size_t bytes = (size_t)HP_FAULT_LEAK_KB * 1024;
  void *leaked = malloc(bytes);
  if (leaked == NULL) {
    fprintf(stderr, "hp_fault: out of memory after leaking %llu KiB in %llu calls\n",
            (unsigned long long)(hp_fault_handle_calls - 1) * HP_FAULT_LEAK_KB,
            (unsigned long long)hp_fault_handle_calls - 1);
    abort();
  }
  memset(leaked, 0xa5, bytes);
}
#endif

#ifdef HP_FAULT_LEAK_FD
/* Returns HP_FAULT once the process has no descriptor left to give (EMFILE): the module cannot do its I/O. */
static int32_t hp_fault_leak_fd(void) {
  return open("/dev/null", O_RDONLY) < 0 ? HP_FAULT : HP_OK;
}
#endif

static inline void hp_fault_on_init(void) {
#ifdef HP_FAULT_INIT_CRASH
  hp_fault_segfault();
#endif
}

/* Returns HP_OK to carry on with the request, or HP_FAULT to fail it. */
static inline int32_t hp_fault_before_handle(void) {
#ifdef HP_FAULT_COUNTS_CALLS
  hp_fault_handle_calls++;
#endif
#ifdef HP_FAULT_STATIC_TLS
  hp_fault_requests_on_thread++;
#endif
#ifdef HP_FAULT_SLOW_MS
  struct timespec delay = {HP_FAULT_SLOW_MS / 1000, (HP_FAULT_SLOW_MS % 1000) * 1000000L};
  while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
  }
#endif
#ifdef HP_FAULT_CRASH_AFTER
  if (hp_fault_handle_calls > HP_FAULT_CRASH_AFTER) hp_fault_segfault();
#endif
#ifdef HP_FAULT_ABORT_AFTER
  if (hp_fault_handle_calls > HP_FAULT_ABORT_AFTER) {
    fprintf(stderr, "hp_fault: assertion failed in call %llu\n", (unsigned long long)hp_fault_handle_calls);
    abort();
  }
#endif
#ifdef HP_FAULT_LEAK_KB
  hp_fault_leak_memory();
#endif
#ifdef HP_FAULT_LEAK_FD
  if (hp_fault_leak_fd() != HP_OK) return HP_FAULT;
#endif
#ifdef HP_FAULT_HANG_AFTER
  /* pause() rather than a spin: a hung module in production usually waits on something, it does not burn CPU. */
  if (hp_fault_handle_calls > HP_FAULT_HANG_AFTER)
    for (;;) pause();
#endif
#ifdef HP_FAULT_ERROR_EVERY
  if (hp_fault_handle_calls % HP_FAULT_ERROR_EVERY == 0) return HP_FAULT;
#endif
  return HP_OK;
}

#endif
