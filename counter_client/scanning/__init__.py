"""Material scans: import files, capture from a document camera, watch a scanner's folder,
normalise pages and let the clerk order, turn and remove them.

Qt-free except ``camera`` (Qt Multimedia), which nothing else here imports.
"""
