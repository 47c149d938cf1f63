# vg_module(<name> [DEPS <targets>...] [PRIVATE_DEPS <targets>...])
#
# Declares the library vg_<name> from the module folder it is called in:
#   include/          public headers (vg/<name>/...), the module's only interface
#   *.cpp             implementation (private); main.cpp is left to the caller (executables)
#   *_test.cpp        hermetic GoogleTest tests -> executable vg_<name>_test, run by CTest
#   *_pgtest.cpp      tests that need a live PostgreSQL server -> vg_<name>_pgtest, CTest label "pg"
#   *_redistest.cpp   tests that need a live Redis server -> vg_<name>_redistest, CTest label "redis"
#                     (both read the server's address from VG_TEST_POSTGRES / VG_TEST_REDIS, which
#                     scripts/test sets from scripts/test-servers; tests/live_servers.hpp)
#   *_benchmark.cpp   Google Benchmark -> executable vg_<name>_benchmark
# DEPS are public (they appear in the public headers); PRIVATE_DEPS are not.
# Dependencies must point one way, towards common and domain (see docs/architecture.md).

add_library(vg_warnings INTERFACE)
target_compile_options(vg_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Werror -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough
  -Wformat=2
  # GCC 12 reports false "may be used uninitialized" on std::variant/std::optional members at -O2
  # (GCC bugs 80635, 105562); the sanitizer build and -Wall's other checks still cover real ones.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
if(VG_FUZZ)
  # The fuzzing build uses clang, whose warnings differ from GCC's: reported, not fatal.
  target_compile_options(vg_warnings INTERFACE -Wno-error)
endif()

if(VG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

function(vg_module NAME)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS;TEST_DEPS" ${ARGN})
  file(GLOB all_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  set(lib_sources ${all_sources})
  list(FILTER lib_sources EXCLUDE REGEX "(_test|_pgtest|_redistest|_benchmark|/main)\\.cpp$")
  set(target vg_${NAME})
  if(lib_sources)
    add_library(${target} STATIC ${lib_sources})
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${target} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS} vg_warnings)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${M_DEPS})
  endif()

  if(VG_BUILD_TESTS)
    set(tests ${all_sources})
    list(FILTER tests INCLUDE REGEX "_test\\.cpp$")
    if(tests)
      add_executable(${target}_test ${tests})
      target_link_libraries(${target}_test PRIVATE ${target} ${M_PRIVATE_DEPS} ${M_TEST_DEPS}
                            GTest::gtest_main GTest::gmock vg_warnings)
      gtest_discover_tests(${target}_test DISCOVERY_MODE PRE_TEST
                           PROPERTIES LABELS unit)
    endif()
    foreach(server pg redis)
      set(server_tests ${all_sources})
      list(FILTER server_tests INCLUDE REGEX "_${server}test\\.cpp$")
      if(server_tests)
        add_executable(${target}_${server}test ${server_tests})
        target_link_libraries(${target}_${server}test PRIVATE ${target} ${M_PRIVATE_DEPS} ${M_TEST_DEPS}
                              vg_live_servers GTest::gtest_main GTest::gmock vg_warnings)
        gtest_discover_tests(${target}_${server}test DISCOVERY_MODE PRE_TEST
                             PROPERTIES LABELS ${server})
      endif()
    endforeach()
  endif()

  if(VG_BUILD_BENCHMARKS)
    set(benchmarks ${all_sources})
    list(FILTER benchmarks INCLUDE REGEX "_benchmark\\.cpp$")
    if(benchmarks)
      add_executable(${target}_benchmark ${benchmarks})
      target_link_libraries(${target}_benchmark PRIVATE ${target} ${M_PRIVATE_DEPS} ${M_TEST_DEPS}
                            benchmark::benchmark_main vg_warnings)
    endif()
  endif()
endfunction()
