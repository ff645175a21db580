#!/usr/bin/python3
"""Reference numbers for tools/coco-eval, in plain Python + numpy.

pycocotools is not in Debian and PyPI is unreachable here, so this is an independent,
straightforward re-implementation of its bbox evaluation (COCOeval: evaluate, accumulate,
summarize) and of oLRP (kemaloksuz/LRP-Error's definition, and the aLRP Loss seed's 0.01 grid),
written from the documented algorithm in docs/evaluation.md, not from the C code. Its output for
the generated case (tools/coco-gen --preset small) is committed as tests/data/coco/ref-small.json
and checked by tests/test-coco-eval.c.

    /usr/bin/python3 tools/coco_eval_ref.py GT.json DETS.json [--olrp-grid] [--per-class]

prints one JSON object with the keys of `tools/coco-eval --json`.
"""
import json
import sys

import numpy as np

IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
AREA_RNG = [[0 ** 2, 1e5 ** 2], [0 ** 2, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]]
MAX_DETS = [1, 10, 100]
T, R, A, M = len(IOU_THRS), len(REC_THRS), len(AREA_RNG), len(MAX_DETS)
EPS = np.spacing(1)


def iou(d, g, crowd):
    """maskApi bbIou: boxes [x, y, w, h]; a crowd gt divides by the detection's area."""
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    inter = w * h
    da = d[2] * d[3]
    union = da if crowd else da + g[2] * g[3] - inter
    return inter / union


def stable_desc(scores):
    """Indices that sort scores descending, ties in their original order."""
    return sorted(range(len(scores)), key=lambda i: -scores[i])


def match_image(dets, gts, lo, hi):
    """One image and category, one area range. dets: sorted by score, at most 100.

    Returns per detection and IoU threshold: matched-to-a-gt-with-nonzero-id, ignored, IoU of
    the match; and the ignore flag of each gt.
    """
    gt_ignore = [1 if (g['iscrowd'] or g['area'] < lo or g['area'] > hi) else 0 for g in gts]
    order = [j for j in range(len(gts)) if not gt_ignore[j]] + [j for j in range(len(gts)) if gt_ignore[j]]
    ious = [[iou(d['bbox'], gts[j]['bbox'], gts[j]['iscrowd']) for j in order] for d in dets]
    ig_sorted = [gt_ignore[j] for j in order]
    crowd_sorted = [gts[j]['iscrowd'] for j in order]
    matched = np.zeros((T, len(dets)), dtype=bool)
    ignored = np.zeros((T, len(dets)), dtype=bool)
    match_iou = np.zeros((T, len(dets)))
    for t, thr in enumerate(IOU_THRS):
        taken = [False] * len(order)
        for i, d in enumerate(dets):
            best, m = min(thr, 1 - 1e-10), -1
            for s in range(len(order)):
                if taken[s] and not crowd_sorted[s]:
                    continue
                if m > -1 and not ig_sorted[m] and ig_sorted[s]:
                    break
                if ious[i][s] < best:
                    continue
                best, m = ious[i][s], s
            if m == -1:
                continue
            taken[m] = True
            ignored[t, i] = bool(ig_sorted[m])
            # pycocotools keeps the gt's id as the match; an id of 0 reads as "no match"
            matched[t, i] = gts[order[m]]['id'] != 0
            match_iou[t, i] = best
    for i, d in enumerate(dets):
        area = d['bbox'][2] * d['bbox'][3]
        if area < lo or area > hi:
            ignored[:, i] |= ~matched[:, i]
    return matched, ignored, match_iou, gt_ignore


def olrp_scores(tps, fps, ious, scores, npig):
    """LRP-Error: every prefix of the score order is a threshold."""
    n = len(scores)
    if n == 0 or tps.sum() == 0:
        return 1.0, float('nan'), float('nan'), 1.0, float('nan')
    tp = np.cumsum(tps)
    fp = np.cumsum(fps)
    fn = npig - tp
    loc = tp - np.cumsum(ious * tps)
    lrp = (loc / (1 - 0.5) + fp + fn) / (tp + fp + fn)
    i = int(np.argmin(lrp))
    with np.errstate(divide='ignore', invalid='ignore'):
        return (float(lrp[i]), float(np.float64(loc[i]) / tp[i]), float(np.float64(fp[i]) / (tp[i] + fp[i])),
                float(fn[i] / npig), float(scores[i]))


def olrp_grid(tps, fps, ious, scores, npig):
    """The seed: thresholds 0:.01:1, detections with score >= s."""
    rows = []
    for s0 in np.linspace(.0, 1.00, 101):
        k = int(np.sum(scores >= s0))
        tp = int(np.sum(tps[:k]))
        fp = int(np.sum(fps[:k]))
        fn = npig - tp
        loc = tp - float(np.sum((ious * tps)[:k]))
        rows.append(((loc / (1 - 0.5) + fp + fn) / (tp + fp + fn),
                     loc / tp if tp > 0 else float('nan'),
                     fp / (tp + fp) if tp + fp > 0 else float('nan'),
                     fn / npig, float(s0)))
    i = int(np.argmin([r[0] for r in rows]))
    return rows[i]


def evaluate(gt, dt, grid):
    images = sorted({im['id'] for im in gt['images']})
    cats = sorted({c['id'] for c in gt['categories']})
    names = {c['id']: c.get('name', '') for c in gt['categories']}
    gts, dts = {}, {}
    for a in gt.get('annotations', []):
        gts.setdefault((a['image_id'], a['category_id']), []).append(a)
    for d in dt:
        dts.setdefault((d['image_id'], d['category_id']), []).append(d)
    K = len(cats)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    per_class = []
    for k, c in enumerate(cats):
        # per image (ascending id): the first 100 detections by score, their match results
        per_image = []
        for im in images:
            g = gts.get((im, c), [])
            d = dts.get((im, c), [])
            if not g and not d:
                continue
            d = [d[i] for i in stable_desc([x['score'] for x in d])][:100]
            res = [match_image(d, g, lo, hi) for lo, hi in AREA_RNG]
            per_image.append((d, res))
        row = {'category_id': c, 'name': names[c],
               'gts': sum(1 for (im, cc), g in gts.items() if cc == c for a in g if not a['iscrowd']),
               'detections': sum(len(v) for (im, cc), v in dts.items() if cc == c)}
        olrp = (-1.0, -1.0, -1.0, -1.0, float('nan'))
        for a in range(A):
            npig = sum(len(r[a][3]) - sum(r[a][3]) for _, r in per_image)
            if not per_image or npig == 0:
                continue
            for m, md in enumerate(MAX_DETS):
                scores = np.array([x['score'] for d, _ in per_image for x in d[:md]], dtype=float)
                matched = np.concatenate([r[a][0][:, :md] for d, r in per_image], axis=1) if per_image else np.zeros((T, 0))
                ignored = np.concatenate([r[a][1][:, :md] for d, r in per_image], axis=1)
                mious = np.concatenate([r[a][2][:, :md] for d, r in per_image], axis=1)
                order = np.argsort(-scores, kind='mergesort')
                scores, matched, ignored, mious = scores[order], matched[:, order], ignored[:, order], mious[:, order]
                tps = matched & ~ignored
                fps = ~matched & ~ignored
                for t in range(T):
                    tp = np.cumsum(tps[t]).astype(float)
                    fp = np.cumsum(fps[t]).astype(float)
                    nd = len(tp)
                    rc = tp / npig
                    pr = tp / (fp + tp + EPS)
                    recall[t, k, a, m] = rc[-1] if nd else 0
                    env = list(pr)
                    for i in range(nd - 1, 0, -1):
                        env[i - 1] = max(env[i - 1], env[i])
                    q = np.zeros(R)
                    for ri, pi in enumerate(np.searchsorted(rc, REC_THRS, side='left')):
                        if pi >= nd:
                            break
                        q[ri] = env[pi]
                    precision[t, :, k, a, m] = q
                if a == 0 and m == M - 1:
                    f = olrp_grid if grid else olrp_scores
                    olrp = f(tps[0], fps[0], mious[0], scores, npig)
        p = precision[:, :, k, 0, 2]
        row.update({'AP': float(p.mean()) if p.min() > -1 else -1.0,
                    'AP50': float(p[0].mean()) if p.min() > -1 else -1.0,
                    'AP75': float(p[5].mean()) if p.min() > -1 else -1.0,
                    'AR100': float(recall[:, k, 0, 2].mean()) if recall[:, k, 0, 2].min() > -1 else -1.0,
                    'oLRP': olrp[0], 'oLRP_loc': olrp[1], 'oLRP_FP': olrp[2], 'oLRP_FN': olrp[3],
                    'oLRP_threshold': olrp[4]})
        per_class.append(row)
    return precision, recall, per_class


def mean_valid(x):
    x = x[x > -1]
    return float(np.mean(x)) if len(x) else -1.0


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    grid = '--olrp-grid' in sys.argv
    with open(args[0]) as f:
        gt = json.load(f)
    with open(args[1]) as f:
        dt = json.load(f)
    precision, recall, per_class = evaluate(gt, dt, grid)
    out = {
        'AP': mean_valid(precision[:, :, :, 0, 2]),
        'AP50': mean_valid(precision[0, :, :, 0, 2]),
        'AP75': mean_valid(precision[5, :, :, 0, 2]),
        'APs': mean_valid(precision[:, :, :, 1, 2]),
        'APm': mean_valid(precision[:, :, :, 2, 2]),
        'APl': mean_valid(precision[:, :, :, 3, 2]),
        'AR1': mean_valid(recall[:, :, 0, 0]),
        'AR10': mean_valid(recall[:, :, 0, 1]),
        'AR100': mean_valid(recall[:, :, 0, 2]),
        'ARs': mean_valid(recall[:, :, 1, 2]),
        'ARm': mean_valid(recall[:, :, 2, 2]),
        'ARl': mean_valid(recall[:, :, 3, 2]),
        'AP_per_iou': [mean_valid(precision[t, :, :, 0, 2]) for t in range(T)],
    }
    for key in ('oLRP', 'oLRP_loc', 'oLRP_FP', 'oLRP_FN'):
        v = np.array([r[key] for r in per_class], dtype=float)
        v = v[~np.isnan(v)]
        v = v[v > -1]
        out[key] = float(np.mean(v)) if len(v) else None
    out['images'] = len(gt['images'])
    out['detections'] = len(dt)
    if '--per-class' in sys.argv:
        for r in per_class:
            for key, v in r.items():
                if isinstance(v, float) and (np.isnan(v) or (key.startswith('oLRP') and key != 'oLRP_threshold' and v < 0)):
                    r[key] = None
        out['per_class'] = per_class
    print(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
