/*
 * Hotplane module ABI, version 1.
 *
 * A Hotplane module is a plain ELF shared object that exports exactly the functions declared below
 * (the two hp_state_* functions are optional). The host loads it with dlopen(RTLD_NOW | RTLD_LOCAL |
 * RTLD_DEEPBIND), so a module must not rely on symbols of other modules, and other modules never see its symbols.
 *
 * Lifecycle, in the order the host calls things:
 *   hp_abi_version, hp_module_name, hp_module_version   checked against the signed manifest before anything else
 *   hp_init                                             exactly once, before any other call below
 *   hp_state_import                                     optional, the previous version's hp_state_export bytes
 *   hp_self_test                                        on load, then periodically while serving
 *   hp_handle, hp_health                                while serving
 *   hp_state_export                                     optional, after the last hp_handle (traffic drained)
 *   hp_shutdown                                         last call; the library may be unloaded right after
 *
 * Threading rule: calls into one loaded instance are never concurrent. The host serialises them, so a module needs
 * no locks for its own state. Successive calls may come from different threads: do not keep per-thread state
 * (and no initial-exec TLS: such a library may fail to dlopen in a running process, so the upload preflight
 * rejects it).
 *
 * Memory rule: every buffer passed in is owned by the host and valid only for the duration of the call. Never keep
 * a pointer to one, never free one, and never write past the capacity you were given. Strings the module returns
 * (hp_module_name, hp_module_version) must be static: the host reads them at any time while the library is loaded.
 *
 * Unloading: after hp_shutdown the host calls dlclose. Leave no threads running and no callbacks registered
 * anywhere, or the process crashes when the code is unmapped.
 */
#ifndef HOTPLANE_MODULE_H
#define HOTPLANE_MODULE_H

#include <stddef.h>
#include <stdint.h>

#define HP_ABI_VERSION 1u

/* Return codes of hp_init, hp_handle, hp_health, hp_self_test and the hp_state_* functions. */
#define HP_OK 0
/* 1..999: an application answer that is not a fault (e.g. insufficient funds). The host answers HTTP 422 with the
 * response body and does not count it as an error of the version. */
#define HP_APP_CODE_MIN 1
#define HP_APP_CODE_MAX 999
/* A fault: the request failed because of the module (HTTP 500). Counts against the version during a canary. */
#define HP_FAULT (-1)
/* The output buffer is too small: set *len (resp_len for hp_handle) to the size needed and return this. The host
 * calls once more with the same input and a buffer at least that large. Return it before any side effect, since
 * the same request arrives again. */
#define HP_BUFFER_TOO_SMALL (-2)

/* Marks the functions the module exports. Build with -fvisibility=hidden so that nothing else is exported: the host
 * rejects modules exporting names reserved for other subsystems (e.g. crypto_*_override). */
#if defined(__GNUC__) || defined(__clang__)
#define HP_EXPORT __attribute__((visibility("default")))
#else
#define HP_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Returns HP_ABI_VERSION. */
HP_EXPORT uint32_t hp_abi_version(void);

/* Static NUL-terminated strings; they must equal the "module" and "version" fields of the signed manifest. */
HP_EXPORT const char *hp_module_name(void);
HP_EXPORT const char *hp_module_version(void);

/* config: the deployment's configuration bytes (not NUL-terminated; NULL when config_len is 0).
 * Returns HP_OK when ready to serve; anything else fails the load. */
HP_EXPORT int32_t hp_init(const char *config, size_t config_len);

/* One request in, one response out. Write at most resp_cap bytes to resp and their count to *resp_len.
 * Returns HP_OK, an application code 1..999 (resp holds the answer text), HP_FAULT, or HP_BUFFER_TOO_SMALL with
 * *resp_len set to the size needed. req may be NULL when req_len is 0. */
HP_EXPORT int32_t hp_handle(const uint8_t *req, size_t req_len, uint8_t *resp, size_t resp_cap, size_t *resp_len);

/* Cheap liveness check, called every second. HP_OK = healthy. Must not block. */
HP_EXPORT int32_t hp_health(void);

/* Checks the module's own logic without touching live state. Writes a short human-readable report, always
 * NUL-terminated and truncated to report_cap. HP_OK = pass; anything else = fail (the version is not served). */
HP_EXPORT int32_t hp_self_test(char *report, size_t report_cap);

/* Last call before unload: release everything, stop every thread the module started. */
HP_EXPORT void hp_shutdown(void);

/* Optional state hand-off from the serving version to the next one. The format is the module's own and must be
 * readable by later versions. hp_state_export follows the HP_BUFFER_TOO_SMALL rule with *len; hp_state_import
 * returns HP_OK or HP_FAULT and must leave the current state unchanged when it fails. */
HP_EXPORT int32_t hp_state_export(uint8_t *buf, size_t cap, size_t *len);
HP_EXPORT int32_t hp_state_import(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
