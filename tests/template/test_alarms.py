"""Monitoring, measured: each named alarm of template.yaml exists with its metric and threshold,
tells the stack's SNS topic, and reads a metric the functions write, by the name and dimensions
that bridge_domain::telemetry (shared/domain/src/telemetry.rs) gives it, in the namespace the
functions get (METRICS_NAMESPACE). Run by scripts/test:
    .tools/venv/bin/python -m unittest discover -s tests/template
"""

import os
import re
import unittest

from cfnlint.decode import cfn_yaml

from cfn import branches

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TEMPLATE = os.path.join(ROOT, "template.yaml")
TELEMETRY = os.path.join(ROOT, "shared", "domain", "src", "telemetry.rs")
FORWARDING = os.path.join(ROOT, "shared", "domain", "src", "services", "smart_forwarding.rs")
SMART_FORWARD = os.path.join(ROOT, "shared", "lambda", "src", "smart_forward.rs")

NAMESPACE = {"Fn::Sub": "RingostatBridge/${AWS::StackName}"}
TOPIC = [{"Ref": "AlarmTopic"}]

# Alarm on one metric: name, dimensions, statistic, period, threshold, comparison.
SINGLE = {
    # A call waiting more than 15 minutes for the CRM.
    "ParkedEventsAlarm": ("OldestParkedAge", {"Function": "replay"}, "Maximum", 900, 900,
                          "GreaterThanThreshold"),
    "CrmThrottlingAlarm": ("HttpThrottles", {"Service": {"Ref": "CrmKind"}}, "Sum", 300, 10,
                           "GreaterThanOrEqualToThreshold"),
    "ReconcileRecoveredAlarm": ("Reconciled", {"Outcome": "recovered"}, "Sum", 3600, 1,
                                "GreaterThanOrEqualToThreshold"),
}

# Alarms on a rate: the metric, the dimension values the rate is made of, the threshold.
RATES = {
    "FailureRateAlarm": ("EventResults", "Result", {"failed", "delivered"},
                         {"Ref": "FailureRateAlarmPercent"}),
    "SmartForwardFallbackAlarm": ("SmartForwardAnswers", "Reason", None,
                                  {"Ref": "SmartForwardFallbackAlarmPercent"}),
}

# Alarms on every function's Lambda metric.
LAMBDA = {"FunctionErrorsAlarm": "Errors", "FunctionThrottlesAlarm": "Throttles"}

MATH_FUNCTIONS = {"FILL", "IF", "SUM", "METRICS"}


def read(path):
    with open(path, encoding="utf-8") as file:
        return file.read()


def rust_constants(path, module):
    """The `pub const X: &str = "value";` of `pub mod <module>` in a Rust file."""
    text = read(path)
    start = text.index(f"pub mod {module} {{")
    body = text[start:text.index("\n}\n", start)]
    return set(re.findall(r'pub const [A-Z_]+: &str = "([^"]+)";', body))


def forward_reasons():
    """Every `Reason` smart forwarding counts: ForwardReason's words and the missing caller."""
    text = read(FORWARDING)
    start = text.index("pub fn as_str(self)")
    words = set(re.findall(r'=> "([a-z_]+)"', text[start:text.index("}\n}", start)]))
    no_caller = re.search(r'pub const NO_CALLER: &str = "([a-z_]+)";',
                          read(SMART_FORWARD)).group(1)
    return words | {no_caller}


def dimensions_of(metric):
    return {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}


class Alarms(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.template = cfn_yaml.load(TEMPLATE)
        cls.resources = cls.template["Resources"]
        cls.metric_names = rust_constants(TELEMETRY, "name")
        cls.dimension_names = rust_constants(TELEMETRY, "dimension")

    def alarm(self, name):
        self.assertIn(name, self.resources, f"alarm {name}")
        alarm = self.resources[name]
        self.assertEqual(alarm["Type"], "AWS::CloudWatch::Alarm")
        return alarm["Properties"]

    def assert_bridge_metric(self, namespace, name, dimensions):
        """A metric the functions write: their namespace, a telemetry name and dimensions."""
        self.assertEqual(namespace, NAMESPACE)
        self.assertIn(name, self.metric_names, "a metric bridge_domain::telemetry names")
        self.assertTrue(dimensions, f"{name}: the functions write no metric without dimensions")
        for dimension in dimensions:
            self.assertIn(dimension, self.dimension_names, name)

    def test_the_functions_write_to_the_namespace_the_alarms_read(self):
        variables = self.template["Globals"]["Function"]["Environment"]["Variables"]
        self.assertEqual(variables["METRICS_NAMESPACE"], NAMESPACE)

    def test_every_alarm_tells_the_topic_when_it_fires_and_clears(self):
        alarms = {name for name, r in self.resources.items()
                  if r["Type"] == "AWS::CloudWatch::Alarm"}
        self.assertEqual(alarms, set(SINGLE) | set(RATES) | set(LAMBDA))
        for name in alarms:
            props = self.alarm(name)
            with self.subTest(alarm=name):
                self.assertEqual(props["AlarmActions"], TOPIC)
                self.assertEqual(props["OKActions"], TOPIC)
                self.assertIn("AlarmName", props)
                self.assertIn("AlarmDescription", props)

    def test_alarms_on_one_metric(self):
        for name, (metric, dimensions, statistic, period, threshold, comparison) in SINGLE.items():
            props = self.alarm(name)
            with self.subTest(alarm=name):
                self.assert_bridge_metric(props["Namespace"], props["MetricName"],
                                          dimensions_of(props))
                self.assertEqual(props["MetricName"], metric)
                self.assertEqual(dimensions_of(props), dimensions)
                self.assertEqual(props["Statistic"], statistic)
                self.assertEqual(props["Period"], period)
                self.assertEqual(props["Threshold"], threshold)
                self.assertEqual(props["ComparisonOperator"], comparison)

    def test_rate_alarms_read_every_value_of_their_dimension(self):
        expected_values = {"FailureRateAlarm": {"failed", "delivered"},
                           "SmartForwardFallbackAlarm": forward_reasons()}
        for name, (metric, dimension, _, threshold) in RATES.items():
            props = self.alarm(name)
            with self.subTest(alarm=name):
                self.assertEqual(props["Threshold"], threshold)
                self.assertEqual(props["ComparisonOperator"], "GreaterThanThreshold")
                queries = props["Metrics"]
                self.assertLessEqual(len([q for q in queries if "MetricStat" in q]), 10,
                                     "CloudWatch's limit of metrics per alarm")
                values = set()
                for query in queries:
                    if "MetricStat" not in query:
                        continue
                    stat = query["MetricStat"]
                    self.assert_bridge_metric(stat["Metric"]["Namespace"],
                                              stat["Metric"]["MetricName"],
                                              dimensions_of(stat["Metric"]))
                    self.assertEqual(stat["Metric"]["MetricName"], metric)
                    self.assertEqual(set(dimensions_of(stat["Metric"])), {dimension})
                    self.assertEqual(stat["Stat"], "Sum")
                    values.add(dimensions_of(stat["Metric"])[dimension])
                self.assertEqual(values, expected_values[name])
                self.assert_expressions_name_their_queries(queries)
                returned = [q for q in queries if q.get("ReturnData")]
                self.assertEqual(len(returned), 1)
                self.assertIn("Expression", returned[0])

    def test_function_alarms_read_every_function(self):
        functions = {name for name, r in self.resources.items()
                     if r["Type"] == "AWS::Serverless::Function"}
        for name, metric in LAMBDA.items():
            props = self.alarm(name)
            with self.subTest(alarm=name):
                self.assertEqual(props["Threshold"], 1)
                self.assertEqual(props["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
                queries = [q for item in props["Metrics"] for q in branches(item)]
                read = set()
                for query in queries:
                    if "MetricStat" in query:
                        stat = query["MetricStat"]["Metric"]
                        self.assertEqual(stat["Namespace"], "AWS/Lambda")
                        self.assertEqual(stat["MetricName"], metric)
                        read.add(dimensions_of(stat)["FunctionName"]["Ref"])
                self.assertEqual(read, functions)
                self.assertLessEqual(len(read), 10, "CloudWatch's limit of metrics per alarm")
                self.assert_expressions_name_their_queries(queries)

    def assert_expressions_name_their_queries(self, queries):
        ids = {q["Id"] for q in queries}
        for query in queries:
            self.assertRegex(query["Id"], r"^[a-z][a-zA-Z0-9_]*$")
            if "Expression" in query:
                for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query["Expression"]):
                    self.assertTrue(word in ids or word in MATH_FUNCTIONS,
                                    f"{word} in {query['Expression']}")

    def test_the_topic_and_its_optional_email(self):
        self.assertEqual(self.resources["AlarmTopic"]["Type"], "AWS::SNS::Topic")
        subscription = self.resources["AlarmEmailSubscription"]
        self.assertEqual(subscription["Condition"], "HasAlarmEmail")
        self.assertEqual(subscription["Properties"]["Protocol"], "email")
        self.assertEqual(subscription["Properties"]["Endpoint"], {"Ref": "AlarmEmail"})
        self.assertEqual(subscription["Properties"]["TopicArn"], {"Ref": "AlarmTopic"})
        self.assertEqual(self.template["Parameters"]["AlarmEmail"]["Default"], "")

    def test_xray_tracing_is_a_parameter(self):
        parameter = self.template["Parameters"]["Tracing"]
        self.assertEqual(set(parameter["AllowedValues"]), {"Active", "PassThrough"})
        self.assertEqual(parameter["Default"], "PassThrough")
        self.assertEqual(self.template["Globals"]["Function"]["Tracing"], {"Ref": "Tracing"})

    def test_the_dashboard_shows_the_graphs_an_operator_opens_first(self):
        dashboard = self.resources["BridgeDashboard"]
        self.assertEqual(dashboard["Type"], "AWS::CloudWatch::Dashboard")
        body, variables = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
        self.assertEqual(variables["Namespace"], NAMESPACE)
        for graph in ['MetricName=\\"Events\\"', '"CrmLatency"', '"p50"', '"p99"',
                      '"ParkedEvents"', '"OldestParkedAge"',
                      'MetricName=\\"SmartForwardAnswers\\"']:
            self.assertIn(graph, body)
        for metric in re.findall(r'MetricName=\\"([A-Za-z]+)\\"', body) + \
                re.findall(r'"\$\{Namespace\}", "([A-Za-z]+)"', body):
            self.assertIn(metric, self.metric_names)


if __name__ == "__main__":
    unittest.main()
