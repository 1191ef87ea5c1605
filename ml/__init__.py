"""Training, export, quantization and evaluation of the package detector.

Everything here runs offline: no pretrained weights, fonts or datasets are downloaded.
Serving (``detection/``) never imports this package.

ONNX Runtime's usage telemetry is off here too (see detection/detector/__init__.py): several tools
import onnxruntime (quantization, pretrained checks) before anything of the detector.
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
