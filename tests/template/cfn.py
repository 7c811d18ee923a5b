"""What the template tests share: reading CloudFormation's conditional values."""


def branches(node):
    """A value, or every branch of a conditional one (`!If [cond, a, b]`, nested too) that is
    not `AWS::NoValue`."""
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        for branch in node["Fn::If"][1:]:
            if branch != {"Ref": "AWS::NoValue"}:
                yield from branches(branch)
    else:
        yield node
