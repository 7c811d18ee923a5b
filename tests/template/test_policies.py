"""Least privilege, measured: what each function of template.yaml may read, parsed from the
template itself (cfn-lint's decoder keeps the intrinsic functions), and that every secret a
function's environment names is one its policies allow. Run by scripts/test:
    .tools/venv/bin/python -m unittest discover -s tests/template
"""

import os
import unittest

from cfnlint.decode import cfn_yaml

from cfn import branches

TEMPLATE = os.path.join(os.path.dirname(__file__), "..", "..", "template.yaml")

CRM = {"WebhookTokenParameter", "StaffParameter", "NetHuntApiKeyParameter",
       "DataverseClientSecretParameter"}
TABLES = {"CacheTable", "ParkedEventsTable"}
KMS = {"SecretsKmsKeyArn"}
RINGOSTAT = {"RingostatAuthKeyParameter"}

# What each function may reach: stack parameters (the SSM parameters they name) and tables.
EXPECTED = {
    "BeforeCallFunction": CRM | RINGOSTAT | TABLES | KMS,
    "AfterCallFunction": CRM | TABLES | KMS,
    "AfterOutgoingCallFunction": CRM | TABLES | KMS,
    "CallAnalysisFunction": CRM | TABLES | KMS,
    "SmartForwardFunction": CRM | TABLES | KMS,
    # Its own key, the staff list, Ringostat; its counters in the cache table; no CRM secret,
    # no webhook token, no parked events.
    "ClickToCallFunction": {"ClickToCallKeyParameter", "StaffParameter", "CacheTable"}
    | RINGOSTAT | KMS,
    "ReplayFunction": CRM | RINGOSTAT | TABLES | KMS,
    "ReconcileFunction": CRM | RINGOSTAT | TABLES | KMS,
}

# The environment variable naming each secret parameter.
# (`_SSM_PARAMETER` for an SSM name, `_SECRET_ID` for a Secrets Manager ARN).
SECRET_VARIABLES = {
    f"{base}{suffix}": {parameter}
    for base, parameter in {
        "WEBHOOK_TOKEN": "WebhookTokenParameter",
        "STAFF": "StaffParameter",
        "CLICK_TO_CALL_KEY": "ClickToCallKeyParameter",
        "RINGOSTAT_AUTH_KEY": "RingostatAuthKeyParameter",
        "NETHUNT_API_KEY": "NetHuntApiKeyParameter",
        "DATAVERSE_CLIENT_SECRET": "DataverseClientSecretParameter",
    }.items()
    for suffix in ("_SSM_PARAMETER", "_SECRET_ID")
}


def names_in(expression):
    """The parameters and resources an ARN expression refers to, every branch of an If."""
    if isinstance(expression, str):
        return set()
    if isinstance(expression, list):
        return set().union(*(names_in(e) for e in expression)) if expression else set()
    (function, argument), = expression.items()
    if function == "Ref":
        return set() if argument.startswith("AWS::") else {argument}
    if function == "Fn::GetAtt":
        target = argument[0] if isinstance(argument, list) else argument.split(".")[0]
        return {target}
    if function == "Fn::Sub":
        text = argument if isinstance(argument, str) else argument[0]
        found = set()
        for part in text.split("${")[1:]:
            name = part.split("}")[0]
            if not name.startswith("AWS::"):
                found.add(name)
        return found
    if function == "Fn::If":
        return names_in(argument[1]) | names_in(argument[2])
    raise AssertionError(f"unexpected {function} in a policy resource")


def policy_refs(entry):
    """The managed policies a Policies entry attaches (both branches of an If)."""
    (function, argument), = entry.items()
    if function == "Ref":
        return [] if argument.startswith("AWS::") else [argument]
    if function == "Fn::If":
        return policy_refs(argument[1]) + policy_refs(argument[2])
    raise AssertionError(f"a function policy is not a managed policy of the stack: {entry}")


class Policies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = cfn_yaml.load(TEMPLATE)
        cls.resources = cls.template["Resources"]

    def statements_of(self, function):
        props = self.resources[function]["Properties"]
        for policy in (p for e in props["Policies"] for p in policy_refs(e)):
            document = self.resources[policy]["Properties"]["PolicyDocument"]
            for statement in document["Statement"]:
                yield from branches(statement)

    def reach_of(self, function):
        reach = set()
        for statement in self.statements_of(function):
            self.assertEqual(statement["Effect"], "Allow")
            self.assertNotIn("*", str(statement["Resource"]), f"{function}: a wildcard")
            reach |= names_in(statement["Resource"])
        return reach

    def test_each_function_reaches_exactly_what_it_uses(self):
        functions = {name for name, r in self.resources.items()
                     if r["Type"] == "AWS::Serverless::Function"}
        self.assertEqual(functions, set(EXPECTED))
        for function, expected in EXPECTED.items():
            with self.subTest(function=function):
                self.assertEqual(self.reach_of(function), expected)

    def test_a_secret_is_read_from_ssm_or_from_secrets_manager_by_its_value(self):
        """An ARN as the parameter's value: the same parameter names the Secrets Manager secret
        in the policy and in `_SECRET_ID`; a name: the SSM parameter and `_SSM_PARAMETER`."""
        env = self.template["Globals"]["Function"]["Environment"]["Variables"]
        for variable in ("WEBHOOK_TOKEN", "NETHUNT_API_KEY", "RINGOSTAT_AUTH_KEY"):
            ssm, secret_id = env[f"{variable}_SSM_PARAMETER"], env[f"{variable}_SECRET_ID"]
            condition = ssm["Fn::If"][0]
            self.assertEqual(secret_id["Fn::If"][0], condition)
            self.assertEqual(ssm["Fn::If"][1], {"Ref": "AWS::NoValue"})
            self.assertEqual(secret_id["Fn::If"][2], {"Ref": "AWS::NoValue"})
            self.assertIn("Fn::Split", str(self.template["Conditions"][condition]))

    def test_secrets_are_read_and_never_listed_or_written(self):
        for function in EXPECTED:
            for statement in self.statements_of(function):
                actions = statement["Action"]
                actions = actions if isinstance(actions, list) else [actions]
                for action in actions:
                    if action.startswith(("ssm:", "secretsmanager:")):
                        self.assertIn(action, ("ssm:GetParameters", "secretsmanager:GetSecretValue"),
                                      function)

    def test_every_secret_a_function_names_is_one_it_may_read(self):
        globals_env = self.template["Globals"]["Function"]["Environment"]["Variables"]
        for function in EXPECTED:
            props = self.resources[function]["Properties"]
            own = props.get("Environment", {}).get("Variables", {})
            env = {**globals_env, **own}
            reach = self.reach_of(function)
            for variable, parameters in SECRET_VARIABLES.items():
                value = env.get(variable, "")
                with self.subTest(function=function, variable=variable):
                    if value != "":
                        self.assertTrue(parameters <= reach,
                                        f"{function} names {variable} but may not read it")
                    else:
                        self.assertFalse(parameters & reach,
                                         f"{function} may read {parameters} it never names")


if __name__ == "__main__":
    unittest.main()
