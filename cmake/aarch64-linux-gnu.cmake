# Cross-build for 64-bit ARM Linux with Debian's cross compiler and arm64 (multiarch) libraries;
# tests run under qemu-user with every optional CPU feature on (-cpu max: dotprod, i8mm, SVE),
# so the ARM kernels' fast paths are the ones checked. Used by scripts/test-aarch64.sh.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Libraries and CMake packages from the arm64 multiarch folders; header-only packages (nlohmann
# json) from the host's /usr/share.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /usr/lib/aarch64-linux-gnu /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# The programs run against the arm64 multiarch glibc (libc6:arm64, in /lib/aarch64-linux-gnu,
# which the linked arm64 libraries come with), loader included: `-L /`. Not the cross package's
# /usr/aarch64-linux-gnu, whose ld-linux-aarch64.so.1 is another glibc build (2.36-8cross1
# against libc6:arm64's 2.36-9+deb12uN on Debian 12): that loader, with libc.so.6 found through
# the multiarch path, hangs every pthread_create before its clone system call — which looked
# like a thread-pool bug until a bare std::thread hung the same way.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static;-cpu;max;-L;/)
# pkg-config (PCRE2) reads the arm64 .pc files.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
