// weights-pth.h - reads PyTorch checkpoints (.pth / .pt, torch.save of a state dict) in C, with
// no Python: the tensors of the state dict, by name, as safetensors-style records.
//
//     char err[512];
//     struct pth_file * f = pth_load("resnet50-0676ba61.pth", err, sizeof err);
//     if (!f) { puts(err); ... }                     // one line naming the file and the problem
//     for (int i = 0; i < pth_count(f); i++) {
//         const struct alrp_st_tensor * t = pth_at(f, i);   // name, dtype "F32"/"F16"/"I64"..,
//         ...                                                 // shape, data (contiguous)
//     }
//     pth_close(f);
//
// Both of torch.save's formats:
//   - the zip archive (PyTorch >= 1.6): one top folder (the file's stem, or "archive"); the
//     entry that ends in "/data.pkl" is the pickled object, and storage <key> is the stored
//     (uncompressed) entry "<top>/data/<key>". Zip64 records are read; CRC-32s are checked.
//   - the legacy stream (_use_new_zipfile_serialization=False, older torchvision and mmdetection
//     files): the pickled magic number 0x1950a86a20f9469cfc6c, protocol 1001, a system-info dict
//     (little endian only), the pickled object, a pickled list of storage keys, then for each key
//     in that order its element count (int64, little endian) and its bytes.
// The pickle is read by a small stack machine that knows the opcodes of protocols 0-5 that
// state dicts use (dicts, OrderedDict, lists, tuples, strings, bytes, ints, floats, bools, None,
// the memo, persistent ids) and builds only these objects: collections.OrderedDict (a dict),
// torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter(_with_state) (a
// tensor), and torch.<Type>Storage (Float, Double, Half, BFloat16, Long, Int, Short, Char, Byte,
// Bool). Nothing is ever executed: any other global (numpy, mmcv objects in mmdetection's
// "meta") becomes an opaque placeholder, which is an error only where a tensor is needed.
// BUILD states are dropped.
//
// The state dict is, in this order: the root's "state_dict" entry (mmdetection's wrapper
// {"meta", "state_dict", "optimizer"}), its "model" entry, or the root itself (a bare state
// dict). Every value in it must be a tensor. When every key starts with "module." (saved from
// torch.nn.DataParallel) the prefix is removed. Tensors keep the state dict's order; a strided
// or offset tensor is made contiguous (a copy), a contiguous one points into the file's bytes.
//
// Errors: every malformed input gives NULL and one line "<file>: <what is wrong>"; nothing is
// ever read outside the input. Limits: 2^31 - 1 bytes per pickle, 1 << 24 pickle values.
#ifndef DETECTOR_WEIGHTS_PTH_H
#define DETECTOR_WEIGHTS_PTH_H

#include "alrp.h"

#include <stdbool.h>
#include <stddef.h>

struct pth_file;

enum pth_format { PTH_ZIP, PTH_LEGACY };

struct pth_info {
    enum pth_format format;
    const char * container;     // "state_dict" or "model" (the wrapper's entry), or "" (bare)
    int n_wrapper_keys;         // keys of the wrapper (0 for a bare state dict)
    bool module_prefix;         // "module." was removed from every key
    int n_storages;
};

// Reads the whole file. NULL and a one-line message in err on any problem.
struct pth_file * pth_load(const char * path, char * err, size_t err_size);
// The same from bytes in memory (copied); label names the input in messages.
struct pth_file * pth_load_buffer(const void * buf, size_t size, const char * label, char * err, size_t err_size);
void pth_close(struct pth_file * f);

int pth_count(const struct pth_file * f);
const struct alrp_st_tensor * pth_at(const struct pth_file * f, int i);
// the tensor of that (prefix-stripped) name, or NULL
const struct alrp_st_tensor * pth_get(const struct pth_file * f, const char * name);
void pth_get_info(const struct pth_file * f, struct pth_info * info);

// true if the first bytes look like a checkpoint of either format (zip local header or the
// legacy stream's PROTO 2 + LONG1 magic)
bool pth_sniff(const void * head, size_t n);

#endif // DETECTOR_WEIGHTS_PTH_H
