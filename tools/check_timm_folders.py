#!/usr/bin/env python3
"""Checks Graft against timm on timm hub folders and prints a table.

  .venv/bin/python tools/check_timm_folders.py          # the miniatures of Fixtures/timm/folders.tar.xz
  .venv/bin/python tools/check_timm_folders.py --full   # .build-timm-full/ (tools/make_timm_folders.py --full)

Per folder: `graft verify` with no flags but the input and timm's logits (max |Δ|); `graft preprocess
--checkpoint DIR` of the photo against timm's eval transform (resolve_data_config + create_transform);
`graft export --format timm` read back into timm (full size: timm.create_model(arch, pretrained=True,
num_classes=N, pretrained_cfg_overlay=dict(file=..., num_classes=N)); miniatures: the same miniature
built again, strict load_state_dict) against timm's logits; and, with --finetune, a 3-class head
fine-tuned in Graft (frozen backbone, Fixtures/demo/images) exported and loaded the same way.
--torchvision: torchvision models (random init, perturbed BatchNorm statistics) saved as .pth, exported
by Graft as timm folders and loaded with timm.create_model("local-dir:" + DIR, pretrained=True), against
torchvision's logits (MobileNetV3 needs model_args.bn_eps: torchvision's 1e-3, timm's default 1e-5).
"""
import argparse, json, os, re, subprocess, sys, tarfile, tempfile
import numpy as np
import torch, timm
from PIL import Image
from safetensors.torch import load_file
from timm.data import resolve_data_config, create_transform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRAFT = os.environ.get('GRAFT_EXECUTABLE') or os.path.join(ROOT, '.build', 'release', 'graft')
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import make_timm_folders as mk


def graft(*args):
    r = subprocess.run([GRAFT, *args], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def timm_input(folder, photo):
    with open(os.path.join(folder, 'config.json')) as f:
        cfg = resolve_data_config({}, pretrained_cfg=json.load(f)['pretrained_cfg'])
    return create_transform(**cfg)(Image.open(photo).convert('RGB')).unsqueeze(0).float().numpy()


def load_exported(out, name, kwargs, num_classes):
    """The exported folder in timm: the documented create_model call (full size), or the miniature rebuilt."""
    file = os.path.join(out, 'model.safetensors')
    if kwargs is None:
        return timm.create_model(name, pretrained=True, num_classes=num_classes,
                                 pretrained_cfg_overlay=dict(file=file, num_classes=num_classes)).eval()
    model = mk.make_model(name, dict(kwargs, num_classes=num_classes))
    model.load_state_dict(load_file(file), strict=True)
    return model.eval()


def check(folder, name, kwargs, photo, work, finetune):
    row = {'folder': os.path.basename(folder)}
    x_path = os.path.join(folder, 'input.npy')
    rc, out = graft('verify', '--checkpoint', folder, '--input', x_path, '--reference', os.path.join(folder, 'logits.npy'))
    m = re.search(r'max \|Δ\| ([0-9.eE+-]+)', out)
    row['verify'] = f"{float(m.group(1)):.1e}" + ('' if rc == 0 else ' FAIL') if m else 'ERROR ' + out.strip()[:120]
    mine = os.path.join(work, row['folder'] + '_x.npy')
    rc, out = graft('preprocess', '--checkpoint', folder, photo, '--output', mine)
    row['preprocess'] = f"{np.abs(np.load(mine).reshape(-1) - timm_input(folder, photo).reshape(-1)).max():.1e}" if rc == 0 else 'ERROR ' + out[:120]
    exported = os.path.join(work, row['folder'] + '_export')
    rc, out = graft('export', '--format', 'timm', folder, exported)
    if rc != 0:
        row['export'] = 'ERROR ' + out.strip()[:120]
    else:
        x = torch.from_numpy(np.load(x_path))
        with torch.no_grad():
            y = load_exported(exported, name, kwargs, int(np.load(os.path.join(folder, 'logits.npy')).shape[1]))(x).numpy()
        row['export'] = f"{np.abs(y - np.load(os.path.join(folder, 'logits.npy'))).max():.1e}"
    if finetune:
        tuned = os.path.join(work, row['folder'] + '_tuned.safetensors')
        rc, out = graft('finetune', '--checkpoint', folder, '--data', os.path.join(ROOT, 'Fixtures', 'demo', 'images'),
                        '--epochs', '1', '--freeze', 'backbone', '--no-augment', '--cache-features', '--output', tuned)
        if rc != 0:
            row['finetuned 3-class'] = 'ERROR ' + out.strip()[-160:]
        else:
            out_dir = os.path.join(work, row['folder'] + '_tuned_export')
            rc, out = graft('export', '--format', 'timm', tuned, out_dir)
            x = torch.from_numpy(np.load(x_path))
            with torch.no_grad():
                y = load_exported(out_dir, name, kwargs, 3)(x).numpy()
            ref = os.path.join(work, row['folder'] + '_tuned_timm.npy')
            np.save(ref, y)
            rc, out = graft('verify', '--checkpoint', tuned, '--input', x_path, '--reference', ref)
            m = re.search(r'max \|Δ\| ([0-9.eE+-]+)', out)
            row['finetuned 3-class'] = (f"{float(m.group(1)):.1e}" + ('' if rc == 0 else ' FAIL')) if m else 'ERROR ' + out[:120]
    return row


TORCHVISION = [('resnet50', 'resnet50'), ('efficientnet_b0', 'efficientnet_b0'), ('convnext_tiny', 'convnext_tiny'),
               ('mobilenet_v3_large', 'mobilenetv3_large_100'), ('mobilenet_v3_small', 'mobilenetv3_small_100'),
               ('regnet_y_3_2gf', 'regnety_032'), ('densenet121', 'densenet121')]


def check_torchvision(work):
    import torchvision
    rows = []
    torch.manual_seed(0)
    x = torch.randn(1, 3, 224, 224)
    for tv, name in TORCHVISION:
        m = getattr(torchvision.models, tv)().eval()
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, torch.nn.BatchNorm2d):
                    mod.running_mean.normal_(0, 0.1)
                    mod.running_var.uniform_(0.5, 1.5)
            y = m(x).numpy()
        pth, out = os.path.join(work, tv + '.pth'), os.path.join(work, tv + '_timm')
        torch.save(m.state_dict(), pth)
        rc, text = graft('export', '--format', 'timm', pth, out)
        row = {'torchvision': tv, 'timm': name}
        if rc != 0:
            row['export into timm'] = 'ERROR ' + text.strip()[:120]
        else:
            with torch.no_grad():
                z = timm.create_model('local-dir:' + out, pretrained=True).eval()(x).numpy()
            row['export into timm'] = f"{np.abs(y - z).max():.1e}"
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', action='store_true')
    ap.add_argument('--finetune', action='store_true')
    ap.add_argument('--torchvision', action='store_true')
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    rows = []
    if args.torchvision:
        rows = check_torchvision(work)
    elif args.full:
        base = os.path.join(ROOT, '.build-timm-full')
        photo = os.path.join(base, 'photo.jpg')
        for full in mk.FULL:
            if os.path.isdir(os.path.join(base, full)):
                rows.append(check(os.path.join(base, full), full.split('.')[0], None, photo, work, args.finetune))
    else:
        with tarfile.open(os.path.join(ROOT, 'Fixtures', 'timm', 'folders.tar.xz')) as t:
            t.extractall(work, filter='data')
        photo = os.path.join(ROOT, 'Fixtures', 'timm', 'photo.jpg')
        for folder, name, kwargs, _ in mk.MINIATURES:
            rows.append(check(os.path.join(work, folder), name, kwargs, photo, work, args.finetune))
    keys = list(rows[0].keys())
    print('| ' + ' | '.join(keys) + ' |')
    print('|' + '---|' * len(keys))
    for r in rows:
        print('| ' + ' | '.join(str(r.get(k, '')) for k in keys) + ' |')


if __name__ == '__main__':
    main()
