# Thin sugar over the scripts and playbooks. ENV picks the inventory, IMAGE_SOURCE the image source.
ENV ?= dev
IMAGE_SOURCE ?=
SERVICE ?=
ANSIBLE_PLAYBOOK = .venv/bin/ansible-playbook -i inventories/$(ENV) $(if $(IMAGE_SOURCE),-e llm_gateway_image_source=$(IMAGE_SOURCE))

.PHONY: dev test deploy images keys status logs restart rotate-keys reset-litellm

dev: ## toolchain + the whole dev stack (IMAGE_SOURCE=offline where no registry is reachable)
	scripts/bootstrap.sh
	$(if $(filter offline,$(IMAGE_SOURCE)),images/build.sh base postgres phoenix litellm)
	$(ANSIBLE_PLAYBOOK) site.yml

test: ## everything CI runs
	scripts/run-tests.sh

deploy:
	$(ANSIBLE_PLAYBOOK) site.yml

images:
	images/build.sh

keys:
	$(ANSIBLE_PLAYBOOK) playbooks/keys.yml
