// The single Catch2 main for every test binary (Catch2 v2 has no Catch2WithMain).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
