# Helpers that make the build state the architecture (shared style G14): one target per
# module, explicit dependencies, the same warnings on every target.

function(batchlog_apply_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wconversion -Wswitch
                                           -Wno-sign-conversion)
  if(BATCHLOG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(BATCHLOG_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# batchlog_unity(target [BATCH n]): compile `target` as unity sources of up to n files
# (default 8; 0 = one), unless BATCHLOG_UNITY_BUILD is OFF (docs/architecture.md, "Build").
function(batchlog_unity target)
  cmake_parse_arguments(ARG "" "BATCH" "" ${ARGN})
  if(NOT DEFINED ARG_BATCH)
    set(ARG_BATCH 8)
  endif()
  if(BATCHLOG_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE ${ARG_BATCH})
  endif()
endfunction()

# batchlog_add_library(NAME store SRCS a.cc b.cc DEPS batchlog::events RocksDB::rocksdb
#                      PUBLIC_DEPS batchlog::base)
# Creates batchlog_<NAME> with the alias batchlog::<NAME>. Include paths are written from
# the repository root ("src/store/event_log_writer.h"), so every module shares one root.
function(batchlog_add_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target batchlog_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  batchlog_unity(${target})
  add_library(batchlog::${ARG_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} PUBLIC ${ARG_PUBLIC_DEPS})
  batchlog_apply_warnings(${target})
endfunction()

# batchlog_add_test(NAME store_test SRCS a_test.cc DEPS batchlog::store LABELS store)
# One Catch2 binary per module; catch_discover_tests makes every TEST_CASE a CTest test.
# `--warn NoTests` makes a CTest test fail when its name matches no TEST_CASE (a name CTest
# cannot pass through, e.g. one with a ';', would otherwise "pass" without running).
function(batchlog_add_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  batchlog_unity(${ARG_NAME})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} batchlog::test_support)
  batchlog_apply_warnings(${ARG_NAME})
  catch_discover_tests(${ARG_NAME}
    TEST_PREFIX "${ARG_NAME}: "
    EXTRA_ARGS --warn NoTests
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
