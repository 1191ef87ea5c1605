"""Synthetic, exactly labelled training frames of packages (our own renders, our own licence).

    python -m ml.synth --out ml/runs/synth --count 10000 --seed 0 --workers 2

See ``ml/synth/render.py`` for what a sample is and how it is labelled; ``scenes.py`` for the scene
families; ``camera.py`` for the geometric and photometric effects.
"""
