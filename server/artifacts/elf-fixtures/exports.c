/* A module with the export shapes the inspector must report: plain functions, data, a weak symbol,
   hidden and static ones that must not appear, and one symbol with a default and an older version. */
int hp_module_abi = 3;

int hp_module_init(void) { return 0; }

__attribute__((weak)) int hp_module_optional_hook(void) { return 1; }

__attribute__((visibility("hidden"))) int hp_internal_helper(void) { return 2; }

static int hp_file_local(void) { return hp_internal_helper(); }

int hp_api_v1(void) { return hp_file_local(); }
int hp_api_v2(void) { return 20; }
__asm__(".symver hp_api_v1, hp_api@HOTPLANE_1.0");
__asm__(".symver hp_api_v2, hp_api@@HOTPLANE_2.0");
