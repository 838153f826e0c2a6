# The whole product on a synthetic cohort (issue: grading, "end to end on a synthetic cohort").
#
#   make e2e-small          ~36 studies, small volumes, tiny model: what tests/integration/test_end_to_end_synthetic.py
#                           checks, run through the command line (about 10 minutes on a 2-core CPU)
#   make e2e-full           the paper's sizes: 360x360x8 / 160x320x25 volumes, ResNeXt-50 32x4d branches, the paper's
#                           validation/test swap and the axial-only / sagittal-only variants (a GPU: DEVICE=cuda)
#
# Every step is one command of the toolkit; variables override the sizes, e.g. `make e2e-full N=400 EPOCHS=40`.
#
#   make -j2 seg-model      the shipped vertebra model (imaging/models/vertebrae-default.pt) again from the shared
#                           scans (README, model card): two networks, each a Dice run and a fine-tuning, then their
#                           ensemble, in SEG_OUT; EXCLUDE="VB1_10 VB1_11 VB1_12 VB1_17" leaves scans out (a held-out
#                           version). About 10 minutes per network with one thread each (OMP_NUM_THREADS=1 with -j2)

PY       ?= .venv/bin
OUT      ?= e2e-full
N        ?= 300
SEED     ?= 42
SEG_N    ?= 16
SEG_SECONDS ?= 600
MODEL    ?= paper
EPOCHS   ?= 30
BATCH    ?= 8
DEVICE   ?= auto
WORKERS  ?= 2
EXTRACT_CONFIG ?=
VARIANTS ?= axial sagittal

SEG_DATA ?= ../shared/data/vertebrae-mri
SEG_OUT  ?= seg-model
EXCLUDE  ?=
TRAIN_SEG = $(PY)/imaging train-seg --data $(SEG_DATA) --preset default $(foreach c,$(EXCLUDE),--exclude $(c))

.PHONY: e2e-small e2e-full e2e seg-model

seg-model: $(SEG_OUT)/gamma04.pt $(SEG_OUT)/gamma07.pt
	$(PY)/imaging ensemble-seg $^ -o $(SEG_OUT)/vertebrae-default.pt

# the network with the preset's narrower brightness augmentation of earlier versions (gamma in 0.67-1.5)
$(SEG_OUT)/gamma04.pt:
	$(TRAIN_SEG) --augment gamma=0.4 -o $(SEG_OUT)/gamma04-dice.pt
	$(TRAIN_SEG) --augment gamma=0.4 --loss dice+bce --epochs 60 --init $(SEG_OUT)/gamma04-dice.pt -o $@

# the preset as it is (gamma in 0.5-2)
$(SEG_OUT)/gamma07.pt:
	$(TRAIN_SEG) -o $(SEG_OUT)/gamma07-dice.pt
	$(TRAIN_SEG) --loss dice+bce --epochs 60 --init $(SEG_OUT)/gamma07-dice.pt -o $@

e2e-small:
	$(MAKE) e2e OUT=e2e-small N=36 SEG_N=12 SEG_SECONDS=240 MODEL=tiny EPOCHS=14 VARIANTS= \
		EXTRACT_CONFIG=tests/integration/small_volumes.json

e2e-full:
	$(MAKE) e2e OUT=$(OUT)

e2e:
	$(PY)/imaging synth -o $(OUT)/cohort --n $(N) --seed $(SEED) --grades uniform
	$(PY)/reportparse extract $(OUT)/cohort/reports.csv -o $(OUT)/levels.csv
	$(PY)/imaging synth -o $(OUT)/seg-cohort --n $(SEG_N) --seed $$(($(SEED) + 1))
	$(PY)/imaging train-seg --data $(OUT)/seg-cohort -o $(OUT)/segmentation.pt --preset cpu --input-size 128 \
		--features 8 --depth 4 --time-limit $(SEG_SECONDS) --val-fraction 0.15
	$(PY)/imaging extract $(OUT)/cohort/dicom -o $(OUT)/volumes --seg-model $(OUT)/segmentation.pt -j $(WORKERS) \
		$(if $(EXTRACT_CONFIG),--config $(EXTRACT_CONFIG),)
	$(PY)/grading train -o $(OUT)/both-a --manifest $(OUT)/volumes/manifest.parquet --levels $(OUT)/levels.csv \
		--preset $(MODEL) --epochs $(EPOCHS) --batch-size $(BATCH) --device $(DEVICE) --workers $(WORKERS)
	$(PY)/grading train -o $(OUT)/both-b --swap-val-test --splits $(OUT)/both-a/splits.csv \
		--manifest $(OUT)/volumes/manifest.parquet --levels $(OUT)/levels.csv \
		--preset $(MODEL) --epochs $(EPOCHS) --batch-size $(BATCH) --device $(DEVICE) --workers $(WORKERS)
	for v in $(VARIANTS); do \
		$(PY)/grading train -o $(OUT)/$$v-a --variant $$v --splits $(OUT)/both-a/splits.csv \
			--manifest $(OUT)/volumes/manifest.parquet --levels $(OUT)/levels.csv --preset $(MODEL) \
			--epochs $(EPOCHS) --batch-size $(BATCH) --device $(DEVICE) --workers $(WORKERS) || exit 1; \
	done
	$(PY)/grading evaluate $(OUT)/both-a $(OUT)/both-b $(foreach v,$(VARIANTS),$(OUT)/$(v)-a) -o $(OUT)/results
