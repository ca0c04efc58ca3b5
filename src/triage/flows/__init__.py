"""The flow language: model, loader, validator, templates and the pure engine."""
