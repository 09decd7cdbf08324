#!/usr/bin/env python3
"""Makes timm hub folders with timm's own save_for_hf (random init, perturbed norms; no downloads).

  .venv/bin/python tools/make_timm_folders.py          # miniatures -> Fixtures/timm/folders.tar.xz
  .venv/bin/python tools/make_timm_folders.py --full   # full-size folders -> .build-timm-full/

Made with timm 1.0.31, PyTorch 2.15, torchvision 0.29.2, Pillow 13.0, safetensors 0.8.
Each folder holds model.safetensors + config.json as save_for_hf writes them, plus
  input.npy   timm's eval transform (resolve_data_config + create_transform) of photo.jpg, [1,3,S,S]
  logits.npy  the model's float32 eval logits on input.npy
The miniatures keep timm's module classes and key names with reduced widths and depths (model
kwargs), a 32x32 input and a different pretrained_cfg each, so every crop mode and two
interpolations are exercised. photo.jpg is rocket.jpg (scikit-image's data, NASA, public domain)
reduced to 96x72 with PIL bicubic, JPEG quality 90.
"""
import argparse, io, json, os, shutil, subprocess, sys, tarfile, tempfile
import numpy as np
import torch, timm, PIL
from PIL import Image
from timm.models._hub import save_for_hf
from timm.data import resolve_data_config, create_transform

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO_SRC = os.path.join(ROOT, '..', 'shared', 'fixtures', 'images', 'rocket.jpg')


def perturb(model, seed, small=False):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, m in model.named_modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                # timm zero-initializes the last BatchNorm of a residual branch (zero_init_last); at full
                # size it gets small weights, so fifty residual sums keep the logits in a realistic range.
                residual_last = not small and bool((m.weight == 0).all())
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) * (0.2 if residual_last else 1.0) + (0.05 if residual_last else 0.5))
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            elif isinstance(m, torch.nn.LayerNorm) or type(m).__name__.startswith('LayerNorm'):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
        for name, p in model.named_parameters():
            if name.endswith('gamma'):  # ConvNeXt layer scale starts at 1e-6: make the blocks count
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.5)
        if small:
            # float32 values a bfloat16 holds: the low half of every word is zero, so the fixtures
            # compress to half (the tensors stay float32; the logits are computed from these values).
            for t in model.state_dict().values():
                if t.is_floating_point():
                    t.copy_(t.to(torch.bfloat16).float())
    return model.eval()


# (folder, timm name, model kwargs, data_config for the miniature)
MINIATURES = [
    ('resnet50_mini', 'resnet50', dict(layers=[1, 1, 1, 1], stem_width=8, channels=(4, 4, 8, 8), num_classes=5),
     dict(input_size=(3, 32, 32), interpolation='bicubic', crop_pct=0.95, crop_mode='center')),
    ('efficientnet_b0_mini', 'efficientnet_b0', dict(channel_multiplier=0.1, depth_multiplier=0.1, num_classes=5),
     dict(input_size=(3, 32, 32), interpolation='bicubic', crop_pct=0.875, crop_mode='squash')),
    ('mobilenetv3_large_100_mini', 'mobilenetv3_large_100', dict(channel_multiplier=0.1, depth_multiplier=1.0, num_classes=5),
     dict(input_size=(3, 32, 32), interpolation='bilinear', crop_pct=0.9, crop_mode='border')),
    ('convnext_tiny_mini', 'convnext_tiny', dict(depths=(1, 1, 1, 1), dims=(8, 8, 16, 16), num_classes=5),
     dict(input_size=(3, 32, 32), interpolation='bicubic', crop_pct=1.0, crop_mode='center')),
    ('regnety_032_mini', 'regnety_032', dict(w0=8, wa=8.0, wm=1.5, depth=5, group_size=8, stem_width=8, num_classes=5),
     dict(input_size=(3, 32, 32), interpolation='bilinear', crop_pct=0.875, crop_mode='center')),
    ('densenet121_mini', 'densenet121', dict(growth_rate=4, block_config=(1, 1, 1, 1), num_classes=5),
     dict(input_size=(3, 32, 32), interpolation='bicubic', crop_pct=0.875, crop_mode='center')),
]

FULL = ['resnet50.a1_in1k', 'efficientnet_b0.ra_in1k', 'convnext_tiny.fb_in1k', 'mobilenetv3_large_100.ra_in1k',
        'regnety_032.ra_in1k', 'densenet121.ra_in1k']

LABELS = ['rocket', 'cat', 'tulip', 'bicycle', 'lighthouse']


def make_model(name, kwargs):
    """The generators take width/depth multipliers that the registered factories fix."""
    kwargs = dict(kwargs)
    if name == 'efficientnet_b0':
        from timm.models.efficientnet import _gen_efficientnet
        return _gen_efficientnet('efficientnet_b0', pretrained=False, **kwargs)
    if name == 'mobilenetv3_large_100':
        # The head's width (1280) is fixed inside the generator: narrowed to 32 on the way to the builder.
        import timm.models.mobilenetv3 as mv
        create = mv._create_mnv3
        mv._create_mnv3 = lambda variant, pretrained=False, **kw: create(variant, pretrained, **dict(kw, num_features=32))
        try:
            return mv._gen_mobilenet_v3('mobilenetv3_large_100', pretrained=False, **kwargs)
        finally:
            mv._create_mnv3 = create
    return timm.create_model(name, pretrained=False, **kwargs)


def write_folder(model, folder, photo, data_config=None, label_names=None, model_args=None):
    os.makedirs(folder, exist_ok=True)
    if label_names:
        model.pretrained_cfg = dict(model.pretrained_cfg, label_names=label_names)
    save_for_hf(model, folder, model_args=model_args, data_config=data_config, safe_serialization=True)
    with open(os.path.join(folder, 'config.json')) as f:
        config = json.load(f)
    if label_names:
        config['label_names'] = label_names
        with open(os.path.join(folder, 'config.json'), 'w') as f:
            json.dump(config, f, indent=2)
    cfg = resolve_data_config({}, pretrained_cfg=config['pretrained_cfg'])
    x = create_transform(**cfg)(Image.open(photo).convert('RGB')).unsqueeze(0).float()
    with torch.no_grad():
        y = model(x).float()
    np.save(os.path.join(folder, 'input.npy'), x.numpy())
    np.save(os.path.join(folder, 'logits.npy'), y.numpy())
    return config, cfg


def reduced_photo(path):
    img = Image.open(PHOTO_SRC).convert('RGB').resize((96, 72), Image.BICUBIC)
    img.save(path, quality=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', action='store_true')
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.full:
        out = os.path.join(ROOT, '.build-timm-full')
        os.makedirs(out, exist_ok=True)
        photo = os.path.join(out, 'photo.jpg')
        shutil.copy(PHOTO_SRC, photo)
        for i, full in enumerate(FULL):
            arch, tag = full.split('.')
            model = perturb(timm.create_model(full, pretrained=False), seed=100 + i)
            config, cfg = write_folder(model, os.path.join(out, full), photo)
            print(full, cfg)
        return
    tmp = tempfile.mkdtemp()
    photo = os.path.join(tmp, 'photo.jpg')
    reduced_photo(photo)
    manifest = {'timm': timm.__version__, 'torch': torch.__version__, 'pillow': PIL.__version__, 'folders': {}}
    for i, (folder, name, kwargs, data_config) in enumerate(MINIATURES):
        torch.manual_seed(i)
        model = perturb(make_model(name, kwargs), seed=i, small=True)
        config, cfg = write_folder(model, os.path.join(tmp, folder), photo, data_config=data_config, label_names=LABELS)
        manifest['folders'][folder] = {'architecture': name, 'data_config': {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
                                       'keys': len(model.state_dict())}
        print(folder, cfg)
    with open(os.path.join(tmp, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    dest = os.path.join(ROOT, 'Fixtures', 'timm')
    os.makedirs(dest, exist_ok=True)
    shutil.copy(photo, os.path.join(dest, 'photo.jpg'))
    shutil.copy(os.path.join(tmp, 'manifest.json'), os.path.join(dest, 'manifest.json'))
    names = [m[0] for m in MINIATURES]
    subprocess.run(['tar', '-cJf', os.path.join(dest, 'folders.tar.xz'), '--sort=name', '--owner=0', '--group=0',
                    '--mtime=2026-12-01', '-C', tmp] + names, check=True)
    print('wrote', dest, os.path.getsize(os.path.join(dest, 'folders.tar.xz')), 'bytes')


if __name__ == '__main__':
    main()
