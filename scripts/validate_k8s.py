#!/usr/bin/env python3
"""Validates the manifests `megaobs k8s` writes, strictly.

Core kinds (Deployment, Service, ConfigMap) are checked by `kubernetes-validate`
against Kubernetes' own OpenAPI schemas in strict mode (an unknown field is an
error). The Prometheus Operator's kinds (PrometheusRule, ServiceMonitor,
PodMonitor) are checked against the models `cloudcoil.models.prometheus_operator`
generates from the operator's CRD schemas, with unknown fields forbidden at
every level (the models alone ignore them).

usage: validate_k8s.py FILE.yaml...   (exit 1 and one line per problem)
"""
import sys

import kubernetes_validate
import pydantic
import yaml
from cloudcoil.models.prometheus_operator import v1 as operator

KUBERNETES_VERSION = "1.33.0"
CRDS = {
    "PrometheusRule": operator.PrometheusRule,
    "ServiceMonitor": operator.ServiceMonitor,
    "PodMonitor": operator.PodMonitor,
}


def forbid_unknown_fields():
    """Every model of the operator's API (and the metadata types) refuses
    fields its schema does not name."""
    seen = []

    def visit(model):
        if model in seen or not isinstance(model, type) or not issubclass(model, pydantic.BaseModel):
            return
        seen.append(model)
        model.model_config["extra"] = "forbid"
        for field in model.model_fields.values():
            for arg in walk_types(field.annotation):
                visit(arg)

    def walk_types(t):
        yield t
        for a in getattr(t, "__args__", ()) or ():
            yield from walk_types(a)

    for model in CRDS.values():
        visit(model)
    # Leaves first: a model's schema embeds its fields' schemas as they are
    # when it is rebuilt.
    for model in reversed(seen):
        model.model_rebuild(force=True)


def main(paths):
    forbid_unknown_fields()
    problems = []
    checked = 0
    for path in paths:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for doc in docs:
            kind = doc.get("kind", "?")
            name = (doc.get("metadata") or {}).get("name", "?")
            where = f"{path}: {kind}/{name}"
            try:
                if kind in CRDS:
                    CRDS[kind].model_validate(doc, strict=False)
                else:
                    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
                checked += 1
            except kubernetes_validate.ValidationError as e:
                problems.append(f"{where}: {e.message} at {'.'.join(str(p) for p in e.path)}")
            except pydantic.ValidationError as e:
                for err in e.errors():
                    loc = ".".join(str(p) for p in err["loc"])
                    problems.append(f"{where}: {err['msg']} at {loc}")
            except Exception as e:  # unknown kinds, version errors
                problems.append(f"{where}: {e}")
    for p in problems:
        print(p)
    print(f"{checked} objects valid, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
