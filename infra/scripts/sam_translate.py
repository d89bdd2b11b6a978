#!/usr/bin/env python3
"""Expands template.yaml's SAM transform offline, so that cfn-lint can check the
CloudFormation that would really be deployed (circular dependencies, IAM, routes).

Usage: sam_translate.py template.yaml out.json
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class ManagedPolicies:
    """The one AWS managed policy SAM attaches to functions, without calling IAM."""

    POLICIES = {
        "AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    }

    def load(self):
        return self.POLICIES

    def get(self, name, partition):
        return self.POLICIES.get(name)


def main(src, dst):
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(src) as f:
        template = yaml_parse(f.read())
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            # `sam build` replaces the local CodeUri with an S3 location.
            resource["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    with open(dst, "w") as f:
        json.dump(transform(template, {}, ManagedPolicies()), f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
