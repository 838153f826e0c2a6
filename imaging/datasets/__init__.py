"""Readers for public lumbar MRI data sets in their published layouts (``rsna``: RSNA 2024 Lumbar Spine
Degenerative Classification; ``spider``: SPIDER lumbar spine segmentation)."""
