# alrp: make | make test | make bench | make demo | make DEBUG=1 | make SANITIZE=1
# Programs are discovered by name, one C file each (a file may #include other .c files):
#   tests/test-*.c -> build/tests/test-*     bench/bench-*.c -> build/bench/bench-*
#   tests/test-*.cpp -> build/tests/test-* (C++17)
#   examples/*.c   -> build/examples/*       tools/*.c       -> tools/<name>
CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra
NATIVE  := $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)
ifdef DEBUG
OPT     := -O0 -g
BUILD   ?= build-debug
else
OPT     := -O2 -g $(NATIVE)
endif
ifdef SANITIZE
OPT     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined $(NATIVE)
BUILD   ?= build-san
endif
BUILD   ?= build
CFLAGS  += $(CSTD) $(WARN) $(OPT) -I.
LDLIBS  += -lm -lpthread

TEST_SRC  := $(wildcard tests/test-*.c)
BENCH_SRC := $(wildcard bench/bench-*.c)
EX_SRC    := $(wildcard examples/*.c)
TOOL_SRC  := $(wildcard tools/*.c)
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLES  := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
TOOLS     := $(TOOL_SRC:tools/%.c=tools/%)

# C++ tests: tests/test-*.cpp -> build/tests/test-* (alrp.h, implementation included, is also C++17)
CXX_TEST_SRC := $(wildcard tests/test-*.cpp)
TESTS        += $(CXX_TEST_SRC:tests/%.cpp=$(BUILD)/tests/%)
$(BUILD)/tests/%: tests/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 $(WARN) -Werror $(OPT) -I. $(CXXFLAGS) -MMD -MP $< -o $@ $(LDLIBS)

NVCC := $(shell command -v nvcc 2>/dev/null)

.PHONY: all test bench demo clean cuda
all: $(TESTS) $(BENCHES) $(EXAMPLES) $(TOOLS) cuda

cuda:
ifeq ($(NVCC),)
	@echo "nvcc not found, skipping CUDA"
else
	@if [ -f alrp-cuda.cu ]; then $(MAKE) --no-print-directory $(BUILD)/alrp-cuda.o; else echo "alrp-cuda.cu not written yet, skipping CUDA"; fi
endif

$(BUILD)/alrp-cuda.o: alrp-cuda.cu alrp.h
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -std=c++17 -Xcompiler -Wall,-Wextra -I. -c $< -o $@

$(BUILD)/tests/%: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(LDLIBS)
$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(LDLIBS)
$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP $< -o $@ $(LDLIBS)
tools/%: tools/%.c
	@mkdir -p $(BUILD)/tools
	$(CC) $(CFLAGS) -MMD -MP -MF $(BUILD)/tools/$*.d $< -o $@ $(LDLIBS)

# every test binary and tests/*.sh script; ends with "N passed, N failed"
test: $(TESTS) $(TOOLS)
	@BUILD=$(BUILD) sh tests/run.sh

bench: $(BENCHES) $(TOOLS)
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

demo: $(EXAMPLES)
	@for e in $(EXAMPLES); do echo "== $$e"; $$e || exit 1; done

clean:
	rm -rf build build-san build-debug $(TOOLS)

-include $(wildcard $(BUILD)/*/*.d)
