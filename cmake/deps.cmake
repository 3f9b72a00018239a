# Third-party dependencies, all from Debian packages (scripts/deps.sh installs them).
find_package(Threads REQUIRED)
find_package(GTest REQUIRED)
include(GoogleTest)
find_package(PkgConfig REQUIRED)

find_package(Protobuf REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json REQUIRED)
# Debian builds cpp-httplib as a shared library with OpenSSL; its header only declares, and
# CPPHTTPLIB_OPENSSL_SUPPORT must match that build. Link brfed_httplib, never the header alone.
find_library(HTTPLIB_LIBRARY cpp-httplib REQUIRED)
add_library(brfed_httplib INTERFACE)
target_link_libraries(brfed_httplib INTERFACE ${HTTPLIB_LIBRARY} OpenSSL::SSL OpenSSL::Crypto)
target_compile_definitions(brfed_httplib INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT)
find_package(benchmark QUIET)

# leveldb ships no CMake config on Debian.
find_library(LEVELDB_LIBRARY leveldb REQUIRED)
find_path(LEVELDB_INCLUDE_DIR leveldb/db.h REQUIRED)
add_library(brfed_leveldb INTERFACE)
target_link_libraries(brfed_leveldb INTERFACE ${LEVELDB_LIBRARY})
target_include_directories(brfed_leveldb SYSTEM INTERFACE ${LEVELDB_INCLUDE_DIR})

# The programs allocate on one thread what another frees (Reconcile tasks, journal records):
# glibc's malloc serialises that on its arena locks, jemalloc (TiKV's allocator too) does not.
# engine_bench measured 1.5-1.8x the transitions/s with it. Link brfed_malloc into programs,
# not libraries. Sanitizer and fuzz builds keep the sanitizers' allocator.
option(BRFED_JEMALLOC "Link the programs with jemalloc" ON)
add_library(brfed_malloc INTERFACE)
if(BRFED_JEMALLOC AND NOT BRFED_SANITIZE AND NOT BRFED_TSAN AND NOT BRFED_FUZZ)
  find_library(JEMALLOC_LIBRARY jemalloc)
  if(NOT JEMALLOC_LIBRARY)
    message(FATAL_ERROR "jemalloc not found: run scripts/deps.sh (it installs libjemalloc-dev) "
                        "or configure with -DBRFED_JEMALLOC=OFF")
  endif()
  target_link_libraries(brfed_malloc INTERFACE ${JEMALLOC_LIBRARY})
  target_compile_definitions(brfed_malloc INTERFACE BRFED_JEMALLOC_LINKED=1)
endif()

find_library(GFLAGS_LIBRARY gflags REQUIRED)
add_library(brfed_gflags INTERFACE)
target_link_libraries(brfed_gflags INTERFACE ${GFLAGS_LIBRARY})
