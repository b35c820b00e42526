// The module ABI (modules/hotplane_module.h) as both sides check it: the host when it loads a module, the console
// when it probes an upload and preflights a version.

export const HP_ABI_VERSION = 1;
