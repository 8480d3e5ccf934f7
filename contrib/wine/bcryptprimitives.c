/*
 * A stand-in for Windows' bcryptprimitives.dll, for the checks under wine only: it is never
 * shipped (`cargo xtask dist` checks that the zip holds no DLL).
 *
 * Why: Rust's standard library takes its randomness on Windows from ProcessPrng in
 * bcryptprimitives.dll (Windows 10 and later), which Debian 12's wine 8 does not provide, so
 * okms-cli.exe would not even start there. This forwards ProcessPrng to advapi32's
 * SystemFunction036 (RtlGenRandom), which wine does provide. Built with MinGW-w64 by
 * xtask/src/tasks/dist/windows_check.rs and put beside a temporary copy of the exe.
 */
#include <windows.h>

/* RtlGenRandom: advapi32 exports it under this name only. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes at most a ULONG at a time. */
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
