// cxxmod.cpp: a C++ module dlopen()ed by a C host; throws and catches, and names the object
// its _Unwind_RaiseException binds to (must be libgcc_s, not libunwind).
#include <dlfcn.h>
#include <stdexcept>
#include <string.h>
#include <unwind.h>

extern "C" int cxxmod_run(char *who, int cap)
{
	Dl_info di;
	void *p = (void *)&_Unwind_RaiseException; // bound through this module's GOT
	const char *name = p && dladdr(p, &di) && di.dli_fname ? strrchr(di.dli_fname, '/') : nullptr;

	strncpy(who, name ? name + 1 : "none", cap - 1);
	who[cap - 1] = 0;
	try {
		throw std::runtime_error("boom");
	} catch (const std::exception &e) {
		return strcmp(e.what(), "boom") == 0 ? 1 : 0;
	}
	return 0;
}
