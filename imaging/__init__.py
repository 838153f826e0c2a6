"""imaging: lumbar MRI studies with their geometry, synthetic studies, and vertebral-body segmentation."""
