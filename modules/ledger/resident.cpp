// Makes the ledger library impossible to unload, the way real C++ modules become so by accident: an inline
// variable with default visibility is emitted as an STB_GNU_UNIQUE symbol, and glibc marks any library that binds
// one as NODELETE, so dlclose returns 0 and leaves it mapped. The host must notice and report the module resident.
#include <cstdint>

#include "hotplane_module.h"

struct HP_EXPORT hp_resident_counter {
  static inline uint64_t calls = 0;
};

extern "C" uint64_t hp_resident_count_call(void) { return ++hp_resident_counter::calls; }
