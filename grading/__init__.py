"""Stenosis grading from disc image volumes: the two-branch ResNeXt of DeepSPINE (section 3.2 of the paper)."""
