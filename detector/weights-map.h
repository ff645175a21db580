// weights-map.h - the names of other people's checkpoints mapped to this project's parameter
// names (mmdetection's, detector/model.h), and the checks that refuse models we do not build.
// The maps are documented in docs/weights.md.
//
//     char ours[ALRP_ST_MAX_NAME];
//     enum wmap_result r = wmap_name(WMAP_SEED, "fpn.P3_1.weight", ours, sizeof ours);
//     // r == WMAP_MAPPED, ours = "neck.lateral_convs.0.conv.weight"
//
// Sources (names after any "module." prefix is removed):
//   WMAP_OURS         this project's names (safetensors files it wrote): kept as they are
//   WMAP_TORCHVISION  an ImageNet ResNet / ResNeXt: conv1.*, bn1.*, layerK.* -> "backbone." + name;
//                     fc.* and anything else unused
//   WMAP_MMDET        an mmdetection RetinaNet ([A]): backbone.*, neck.*, bbox_head.* kept;
//                     an mmdetection ImageNet backbone (conv1.*, layerK.* with no prefix) gets
//                     "backbone."; anything else unused
//   WMAP_SEED         [B] (the AP-Loss-based code): conv1/bn1/layerK -> backbone.*,
//                     fpn.P3_1 / P4_1 / P5_1 -> neck.lateral_convs.0 / 1 / 2 .conv,
//                     fpn.P3_2 / P4_2 / P5_2 / P6 / P7_2 -> neck.fpn_convs.0 .. 4 .conv,
//                     classificationModel.convK -> bbox_head.cls_convs.(K-1).conv, .output ->
//                     bbox_head.retina_cls; regressionModel.* likewise -> reg_convs, retina_reg
// In every source a "*.num_batches_tracked" is consumed and dropped (BN's step counter).
#ifndef DETECTOR_WEIGHTS_MAP_H
#define DETECTOR_WEIGHTS_MAP_H

#include <stddef.h>

enum wmap_source { WMAP_OURS, WMAP_TORCHVISION, WMAP_MMDET, WMAP_SEED };
enum wmap_result { WMAP_MAPPED, WMAP_DROPPED, WMAP_UNUSED };

// "ours", "torchvision", "mmdet", "seed"
const char * wmap_source_name(enum wmap_source s);
// Maps one source name; out gets our name (WMAP_MAPPED) or a copy of key. A name that does not
// fit out is WMAP_UNUSED.
enum wmap_result wmap_name(enum wmap_source s, const char * key, char * out, size_t out_size);
// The source that names look like: [B]'s (classificationModel.*, regressionModel.*, fpn.P*),
// mmdetection's (backbone.*, neck.*, bbox_head.*), a torchvision backbone (conv1.*, layer1.*),
// else ours.
enum wmap_source wmap_guess(int n, const char * const * names);
// -1 with "<label>: a <kind> checkpoint ('<name>'): ..." in err when the names are those of a
// model this project does not build (deformable convs, FoveaBox, Faster R-CNN, ATSS/FCOS heads
// with centerness, GN heads); else 0.
int wmap_check_arch(int n, const char * const * names, const char * label, char * err, size_t err_size);

// s for a one-line message: bytes outside printable ASCII become '?' (names come from files);
// returns buf
const char * wmap_quote(const char * s, char * buf, size_t size);

#endif // DETECTOR_WEIGHTS_MAP_H
