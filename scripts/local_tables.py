"""Creates the bridge's DynamoDB tables on a local DynamoDB API (moto), as template.yaml
defines them: the key schema, billing mode and TTL attribute are read from the template, so
the local run keeps what the deployed stack has.

    python scripts/local_tables.py http://127.0.0.1:4566 <cache table> <parked table>
"""

import os
import sys

import boto3
import yaml

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "template.yaml")


class TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, …) read as plain values."""


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


TemplateLoader.add_multi_constructor("!", _tagged)


def table_definitions():
    with open(TEMPLATE, encoding="utf-8") as file:
        template = yaml.load(file, Loader=TemplateLoader)
    resources = template["Resources"]
    return {
        logical: resources[logical]["Properties"]
        for logical in ("CacheTable", "ParkedEventsTable")
    }


def main():
    endpoint, cache, parked = sys.argv[1:4]
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    names = {"CacheTable": cache, "ParkedEventsTable": parked}
    for logical, props in table_definitions().items():
        name = names[logical]
        if name in client.list_tables()["TableNames"]:
            continue
        client.create_table(
            TableName=name,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode=props["BillingMode"],
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        print(f"table {name} ({logical} of template.yaml)")


if __name__ == "__main__":
    main()
