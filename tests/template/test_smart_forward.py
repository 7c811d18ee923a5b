"""The webhook number's own settings in template.yaml: its memory size, and the optional
keep-warm schedule, which exists only when turned on, invokes only the webhook-number function,
and sends exactly the ping the function recognises (bridge_lambda::keep_warm::PING). Run by
scripts/test:
    .tools/venv/bin/python -m unittest discover -s tests/template
"""

import json
import os
import re
import unittest

from cfnlint.decode import cfn_yaml

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TEMPLATE = os.path.join(ROOT, "template.yaml")
KEEP_WARM_SOURCE = os.path.join(ROOT, "shared", "lambda", "src", "keep_warm.rs")


def ping_of_the_function():
    """The payload the function takes for the ping, read from its source."""
    with open(KEEP_WARM_SOURCE, encoding="utf-8") as source:
        found = re.search(r'pub const PING: &str = r#"(.*?)"#;', source.read())
    assert found, "keep_warm.rs defines PING"
    return found.group(1)


class SmartForward(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = cfn_yaml.load(TEMPLATE)
        cls.parameters = cls.template["Parameters"]
        cls.resources = cls.template["Resources"]
        interface = cls.template["Metadata"]["AWS::CloudFormation::Interface"]
        cls.grouped = {p for group in interface["ParameterGroups"] for p in group["Parameters"]}
        cls.labelled = set(interface["ParameterLabels"])

    def test_the_webhook_number_has_its_own_memory_size(self):
        memory = self.parameters["SmartForwardMemorySize"]
        self.assertEqual(memory["Default"], 128)
        self.assertEqual(memory["AllowedValues"], [128, 256, 512, 1024, 1769])
        self.assertIn("1,769 MB", memory["Description"])
        self.assertEqual(self.resources["SmartForwardFunction"]["Properties"]["MemorySize"],
                         {"Ref": "SmartForwardMemorySize"})
        # The other functions keep the global size.
        others = [name for name, r in self.resources.items()
                  if r["Type"] == "AWS::Serverless::Function" and name != "SmartForwardFunction"
                  and "MemorySize" in r["Properties"]]
        self.assertEqual(others, [])

    def test_both_settings_are_grouped_and_labelled(self):
        for parameter in ("SmartForwardMemorySize", "SmartForwardKeepWarm"):
            self.assertIn(parameter, self.grouped)
            self.assertIn(parameter, self.labelled)

    def test_keep_warm_is_off_by_default_and_then_creates_nothing(self):
        keep_warm = self.parameters["SmartForwardKeepWarm"]
        self.assertEqual(keep_warm["Default"], "off")
        self.assertEqual(self.template["Conditions"]["HasSmartForwardKeepWarm"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "SmartForwardKeepWarm"}, "off"]}]})
        conditioned = {name for name, r in self.resources.items()
                       if r.get("Condition") == "HasSmartForwardKeepWarm"}
        self.assertEqual(conditioned, {"SmartForwardKeepWarmSchedule", "SmartForwardKeepWarmRole"})
        for value in keep_warm["AllowedValues"]:
            if value != "off":
                self.assertRegex(value, r"^rate\((1 minute|[0-9]+ minutes)\)$")

    def test_the_schedule_sends_the_functions_ping_to_the_function_only(self):
        schedule = self.resources["SmartForwardKeepWarmSchedule"]
        self.assertEqual(schedule["Type"], "AWS::Scheduler::Schedule")
        properties = schedule["Properties"]
        self.assertEqual(properties["ScheduleExpression"], {"Ref": "SmartForwardKeepWarm"})
        target = properties["Target"]
        self.assertEqual(target["Arn"], {"Fn::GetAtt": ["SmartForwardFunction", "Arn"]})
        self.assertEqual(target["RoleArn"], {"Fn::GetAtt": ["SmartForwardKeepWarmRole", "Arn"]})
        self.assertEqual(json.loads(target["Input"]), json.loads(ping_of_the_function()))

        role = self.resources["SmartForwardKeepWarmRole"]["Properties"]
        trust = role["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual([s["Principal"] for s in trust], [{"Service": "scheduler.amazonaws.com"}])
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        self.assertEqual(statements, [{
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": {"Fn::GetAtt": ["SmartForwardFunction", "Arn"]},
        }])


if __name__ == "__main__":
    unittest.main()
