# The one place warnings and sanitizer flags are decided. Targets opt in with
# brfed_copts(target) (production code) or brfed_test_copts(target) (tests, looser).

set(BRFED_WARNINGS -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wcast-qual -Wundef)
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND BRFED_WARNINGS -Wthread-safety)
elseif(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports moves of std::variant members (brfed::Value inside a StepResult) as
  # "may be used uninitialized" at -O2: a known false positive of that release. clang's
  # builds (fuzz preset) and the sanitizers still catch real uninitialized reads.
  list(APPEND BRFED_WARNINGS -Wno-maybe-uninitialized)
endif()
if(BRFED_WERROR)
  list(APPEND BRFED_WARNINGS -Werror)
endif()

set(BRFED_SANITIZER_FLAGS "")
if(BRFED_SANITIZE)
  # UBSan without its null and alignment checks: together they instrument every member access
  # and were a quarter of this build's compile time (CI has 30 minutes). ASan reports a null
  # dereference itself (SEGV on address 0x0, with the stack); a misaligned access is the one
  # check given up, and x86 tolerates it. The fuzz preset keeps both.
  set(BRFED_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize=null,alignment
                            -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
elseif(BRFED_TSAN)
  set(BRFED_SANITIZER_FLAGS -fsanitize=thread)
endif()
# With BRFED_SANITIZE too (the asan preset) the sanitizers are those above, and only the
# libraries a fuzz target links get libFuzzer's coverage (tests/fuzz/CMakeLists.txt): on
# everything it slowed the rest of the suite for nothing.
if(BRFED_FUZZ AND NOT BRFED_SANITIZE)
  list(APPEND BRFED_SANITIZER_FLAGS -fsanitize=fuzzer-no-link,address,undefined)
endif()

function(brfed_copts target)
  target_compile_options(${target} PRIVATE ${BRFED_WARNINGS} ${BRFED_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${BRFED_SANITIZER_FLAGS})
endfunction()

# Extra flags for test code only, after the build type's: the ci preset compiles tests at -O0
# (the code under test keeps -O2), which takes ~40% off their compile time, half of the build.
set(BRFED_TEST_FLAGS "" CACHE STRING "Extra compile flags for test targets (e.g. -O0)")

function(brfed_test_copts target)
  set(loose -Wall -Wextra)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    list(APPEND loose -Wno-maybe-uninitialized)  # see above
  endif()
  if(BRFED_WERROR)
    list(APPEND loose -Werror)
  endif()
  separate_arguments(extra UNIX_COMMAND "${BRFED_TEST_FLAGS}")
  target_compile_options(${target} PRIVATE ${loose} ${BRFED_SANITIZER_FLAGS} ${extra})
  target_link_options(${target} PRIVATE ${BRFED_SANITIZER_FLAGS})
endfunction()

# brfed_test(NAME src... LIBS lib... [LABELS l...] [COST seconds]): one GoogleTest binary
# registered in CTest. COST, about the longest test's seconds, makes ctest start the binary's
# tests first: a fresh clone has no timing history, and a long test started last would run
# alone at the end while the other core idles.
function(brfed_test name)
  cmake_parse_arguments(T "" "COST" "SRCS;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SRCS} ${T_UNPARSED_ARGUMENTS})
  brfed_test_copts(${name})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main)
  set(props LABELS "${T_LABELS}")
  if(T_COST)
    list(APPEND props COST ${T_COST})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES ${props})
endfunction()

# brfed_test_library(NAME SRCS src... [LIBS lib...]): a static library of test helpers shared by
# several test binaries (a fixture, a fake server), compiled once with the tests' flags.
function(brfed_test_library name)
  cmake_parse_arguments(T "" "" "SRCS;LIBS" ${ARGN})
  add_library(${name} STATIC ${T_SRCS})
  brfed_test_copts(${name})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${name} PUBLIC ${T_LIBS})
endfunction()
