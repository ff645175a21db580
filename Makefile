# alrp: make | make test | make bench | make demo | make DEBUG=1 | make SANITIZE=1
#
# The implementation is compiled once per variant: alrp.h itself, as C with -DALRP_IMPLEMENTATION,
# into $(BUILD)/alrp.o, and again with -DALRP_NO_SIMD into $(BUILD)/alrp-nosimd.o. Programs are
# discovered by name, one C file each (a file may #include other .c files, e.g. detector/*.c),
# and link one of the two objects:
#   tests/test-*.c  -> $(BUILD)/tests/test-*     (tests/*-nosimd.c link alrp-nosimd.o)
#   tests/test-*.cpp -> $(BUILD)/tests/test-*    (C++17, the implementation included in the program)
#   bench/bench-*.c -> $(BUILD)/bench/bench-*
#   examples/*.c    -> $(BUILD)/examples/*
#   tools/*.c       -> $(BUILD)/tools/*, and in the normal build tools/<name>, a link to
#                      ../build/tools/<name> (the documented path)
# Variants: build/ (default), build-debug/ (DEBUG=1: -O0 -g), build-san/ (SANITIZE=1: ASan + UBSan).
CC      ?= cc
.DEFAULT_GOAL := all
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
DET_SRC   := detector/detector.c
TESTS     := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES   := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
EXAMPLES  := $(EX_SRC:examples/%.c=$(BUILD)/examples/%)
TOOLS     := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)
DETECTOR  := $(BUILD)/detector/detector
# tools/<name> -> ../build/tools/<name>: the documented paths, linked by the normal build only
TOOL_LINKS := $(TOOL_SRC:%.c=%)
ifeq ($(BUILD),build)
LINKS     := $(TOOL_LINKS) detector/detector
endif

# the programs made from the C files above: each links the implementation object. A program in
# another language (a C++ test that compiles the implementation itself) gets its own rule.
C_PROGRAMS := $(patsubst %.c,$(BUILD)/%,$(TEST_SRC) $(BENCH_SRC) $(EX_SRC) $(TOOL_SRC) $(DET_SRC))
NOSIMD     := $(filter %-nosimd,$(C_PROGRAMS))

# C++ tests: tests/test-*.cpp -> build/tests/test-* (alrp.h, implementation included, is also C++17)
CXX_TEST_SRC := $(wildcard tests/test-*.cpp)
TESTS        += $(CXX_TEST_SRC:tests/%.cpp=$(BUILD)/tests/%)
$(BUILD)/tests/%: tests/%.cpp
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -D_GNU_SOURCE $(WARN) -Werror $(OPT) -I. $(CXXFLAGS) -MMD -MP -MF $@.d $< -o $@ $(LDLIBS)

# ---- CUDA backend (alrp-cuda.cu; docs/cuda.md) ----------------------------------------------
# The host test double (the CUDA dispatch and kernel bodies run over an emulated grid, no GPU or
# nvcc needed): alrp-cuda.cu compiled by the C++ compiler with -DALRP_CUDA_HOST_ONLY into
# $(BUILD)/alrp-cuda-host.o, linked into CUDA_HOST_PROGRAMS (with -DALRP_CUDA_HOST), in every
# variant. The real backend: when nvcc is found, alrp-cuda.cu -> $(BUILD)/alrp-cuda.o, linked
# with cudart and cuBLAS (rpath to the toolkit) into CUDA_PROGRAMS (with -DALRP_CUDA); add a
# program that uses alrp_backend_cuda_init with one line: CUDA_PROGRAMS += $(BUILD)/dir/name.
# Not in the SANITIZE variant (ASan and the CUDA runtime do not mix well): there the CUDA
# programs build CPU-only (plus the host double).
NVCC := $(shell command -v nvcc 2>/dev/null)
CUDA_HOST_PROGRAMS := $(BUILD)/tests/test-backend-ops $(BUILD)/tests/test-cuda-step
CUDA_PROGRAMS := $(BUILD)/tests/test-backend-ops $(BUILD)/tests/test-cuda-step $(BUILD)/bench/bench-cuda
CUDA_PROGRAMS += $(BUILD)/detector/detector
# Where cudart and cuBLAS live: nvcc's own link line says (nvcc may be a wrapper script outside
# the toolkit, e.g. /usr/local/bin/nvcc); CUDA_LIBDIR=... overrides. No libraries there: the real
# backend is skipped, as without nvcc.
ifneq ($(NVCC),)
ifndef CUDA_LIBDIR
CUDA_LIBDIR := $(shell $(NVCC) --dryrun -c -x cu /dev/null -o /dev/null 2>&1 | sed -n 's/^.*LIBRARIES=//p' | tr ' ' '\n' | tr -d '"' | sed -n 's/^-L//p' | grep -v stubs | head -n 1)
endif
ifeq ($(wildcard $(CUDA_LIBDIR)/libcudart.so),)
CUDA_SKIP := nvcc found but not libcudart in '$(CUDA_LIBDIR)' (set CUDA_LIBDIR=)
else ifeq ($(wildcard $(CUDA_LIBDIR)/libcublas.so),)
CUDA_SKIP := nvcc found but not libcublas in '$(CUDA_LIBDIR)' (set CUDA_LIBDIR=)
endif
else
CUDA_SKIP := nvcc not found
endif
ifdef SANITIZE
CUDA_SKIP := not in the SANITIZE build
endif
ifdef CUDA_SKIP
NVCC :=
endif
CUDA_HOST_FLAGS := -std=c++17 -x c++ -DALRP_CUDA_HOST_ONLY -fno-exceptions -fno-rtti $(WARN) -Werror $(OPT) -I.
$(BUILD)/alrp-cuda-host.o: alrp-cuda.cu alrp-cuda.h alrp.h
	@mkdir -p $(@D)
	$(CXX) $(CUDA_HOST_FLAGS) -c $< -o $@
$(CUDA_HOST_PROGRAMS): $(BUILD)/alrp-cuda-host.o
$(CUDA_HOST_PROGRAMS): private CFLAGS += -DALRP_CUDA_HOST
$(CUDA_HOST_PROGRAMS): private LDLIBS += -lstdc++

.PHONY: all test bench demo demo-build clean cuda
all: $(TESTS) $(BENCHES) $(EXAMPLES) $(TOOLS) $(DETECTOR) $(LINKS) cuda

ifeq ($(NVCC),)
cuda:
	@echo "CUDA backend: $(CUDA_SKIP), skipped (CPU-only programs and the host test double)"
else
NVCC_OPT   := $(if $(DEBUG),-O0 -g,-O3) -lineinfo
NVCC_FLAGS := -std=c++17 --extended-lambda $(NVCC_OPT) -I. \
              -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
              -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
CUDA_LIBS  := -L$(CUDA_LIBDIR) -Wl,-rpath,$(CUDA_LIBDIR) -lcudart -lcublas -lstdc++
cuda: $(BUILD)/alrp-cuda.o
$(BUILD)/alrp-cuda.o: alrp-cuda.cu alrp-cuda.h alrp.h
	@mkdir -p $(@D)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@
$(CUDA_PROGRAMS): $(BUILD)/alrp-cuda.o
$(CUDA_PROGRAMS): private CFLAGS += -DALRP_CUDA
$(CUDA_PROGRAMS): private LDLIBS += $(CUDA_LIBS)
endif

# the implementation, once per variant (and once more without SIMD)
IMPL_CC = $(CC) $(CFLAGS) -MMD -MP -x c -DALRP_IMPLEMENTATION -c $< -o $@
$(BUILD)/alrp.o: alrp.h
	@mkdir -p $(@D)
	$(IMPL_CC)
$(BUILD)/alrp-nosimd.o: alrp.h
	@mkdir -p $(@D)
	$(IMPL_CC) -DALRP_NO_SIMD

# a program: its C file compiled and linked with the object it depends on
$(filter-out $(NOSIMD),$(C_PROGRAMS)): $(BUILD)/alrp.o
$(NOSIMD): $(BUILD)/alrp-nosimd.o
$(C_PROGRAMS): $(BUILD)/%: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d $< $(filter %.o,$^) -o $@ $(LDLIBS)

ifneq ($(LINKS),)
$(TOOL_LINKS): tools/%: build/tools/%
	ln -sfn ../build/tools/$* $@
detector/detector: build/detector/detector
	ln -sfn ../build/detector/detector $@
endif

# every test binary and tests/*.sh script; ends with "N passed, N failed"
test: $(TESTS) $(TOOLS) $(DETECTOR) $(LINKS)
	@BUILD=$(BUILD) sh tests/run.sh

bench: $(BENCHES) $(TOOLS)
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

# installs what is missing, builds, trains the shapes model, evaluates it, runs infer (tools/demo.sh)
demo:
	@sh tools/demo.sh

# what the demo runs, and nothing else: the examples and ./detector (half of `all`'s build time)
demo-build: $(EXAMPLES) $(DETECTOR) $(filter detector/detector,$(LINKS))

clean:
	rm -rf build build-san build-debug
	rm -f $(TOOL_LINKS) detector/detector

-include $(wildcard $(BUILD)/*.d $(BUILD)/*/*.d)
