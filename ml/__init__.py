"""Training, export, quantization and evaluation of the package detector.

Everything here runs offline: no pretrained weights, fonts or datasets are downloaded.
Serving (``detection/``) never imports this package.
"""
