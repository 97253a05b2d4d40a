# Thin sugar over the scripts and playbooks. ENV picks the inventory, IMAGE_SOURCE the image source.
ENV ?= dev
IMAGE_SOURCE ?=
SERVICE ?=
# Not ?=: shells export LINES (the terminal height); the command line still sets it (make logs LINES=20).
LINES = 100
FOLLOW ?=
ROTATE ?=
CONFIRM ?=
COMPOSE_PROJECT ?= reasoning-agent-api
ANSIBLE_PLAYBOOK = .venv/bin/ansible-playbook -i inventories/$(ENV) $(if $(IMAGE_SOURCE),-e llm_gateway_image_source=$(IMAGE_SOURCE))

.PHONY: help dev test deploy images keys status logs restart rotate-keys reset-litellm down purge migrate test-day2 test-rolling \
	litellm_setup litellm_logs litellm_restart litellm_reset

help: ## every target with its purpose (variables: ENV=dev, IMAGE_SOURCE, SERVICE, LINES, FOLLOW, ROTATE, CONFIRM)
	@awk -F ':.*## ' '/^[a-zA-Z0-9_-]+:.*## / { printf "  %-15s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

dev: ## toolchain + the whole dev stack (IMAGE_SOURCE=offline where no registry is reachable)
	scripts/bootstrap.sh
	$(if $(filter offline,$(IMAGE_SOURCE)),images/build.sh base postgres phoenix litellm)
	$(ANSIBLE_PLAYBOOK) site.yml

test: ## everything CI runs
	scripts/run-tests.sh

deploy: ## site.yml on ENV's inventory: deploy or update the stack (a re-run that changes nothing takes seconds)
	$(ANSIBLE_PLAYBOOK) site.yml

images: ## build the offline images here (images/build.sh), for hosts without a registry
	images/build.sh

keys: ## ensure the inventory's LiteLLM virtual keys and keep their secrets in the vault
	$(ANSIBLE_PLAYBOOK) playbooks/keys.yml

# Day-2 operations (playbooks/*.yml). litellm_setup, litellm_logs, litellm_restart and litellm_reset are aliases
# under the names of the docker compose workflow this stack replaces (see playbooks/migrate_from_compose.yml).
status: ## health of every service and the URLs
	$(ANSIBLE_PLAYBOOK) playbooks/status.yml

logs: ## last LINES (100) lines of SERVICE: postgres-phoenix, postgres-litellm, phoenix, litellm, redis, litellm-balancer, reasoning-api; FOLLOW=1 follows
	$(if $(filter 1 true yes,$(FOLLOW)),scripts/logs-follow.sh inventories/$(ENV) $(SERVICE) $(LINES),\
	  $(ANSIBLE_PLAYBOOK) playbooks/logs.yml -e service=$(SERVICE) -e lines=$(LINES))

restart: ## restart SERVICE and wait until it is healthy (litellm: one replica at a time, through the balancer)
	$(ANSIBLE_PLAYBOOK) playbooks/restart.yml -e service=$(SERVICE)

rotate-keys: ## new secrets for ROTATE=alias,alias (default: every key of the inventory); the app is redeployed
	$(ANSIBLE_PLAYBOOK) playbooks/rotate_keys.yml $(if $(ROTATE),-e rotate=$(ROTATE))

reset-litellm: ## DESTRUCTIVE, needs CONFIRM=<inventory name, e.g. dev>: LiteLLM on an empty database, the inventory's keys with the same secrets
	$(ANSIBLE_PLAYBOOK) playbooks/reset_litellm.yml $(if $(CONFIRM),-e confirm_reset=$(CONFIRM))

down: ## stop and remove the stack's containers; volumes, vault and images stay (site.yml brings it back)
	$(ANSIBLE_PLAYBOOK) playbooks/down.yml

purge: ## DESTRUCTIVE, needs CONFIRM=<inventory name, e.g. dev>: down, then delete the data volumes and the network
	$(ANSIBLE_PLAYBOOK) playbooks/purge.yml $(if $(CONFIRM),-e confirm_purge=$(CONFIRM))

migrate: ## adopt a docker compose deployment of this stack (COMPOSE_PROJECT), then deploy the stack
	$(ANSIBLE_PLAYBOOK) playbooks/migrate_from_compose.yml -e compose_project=$(COMPOSE_PROJECT)
	$(ANSIBLE_PLAYBOOK) site.yml

test-day2: ## the day-2 operations scenario alone
	.venv/bin/molecule test -s day2

test-rolling: ## the rolling-changes scenario alone (needs images/build.sh litellm-previous)
	.venv/bin/molecule test -s rolling

litellm_setup: keys ## compose-era alias of keys
litellm_logs: ## compose-era alias of logs SERVICE=litellm
	$(MAKE) logs SERVICE=litellm
litellm_restart: ## compose-era alias of restart SERVICE=litellm
	$(MAKE) restart SERVICE=litellm
litellm_reset: ## compose-era alias of reset-litellm
	$(MAKE) reset-litellm
