"""Rebuild ``linear-issues.extract.graphql`` from Linear's full SDK schema.

Usage: python extract.py path/to/schema.graphql > linear-issues.extract.graphql
(needs graphql-core).

Keeps, with their descriptions and exact types, only the fields, arguments and input fields
the sink uses; interfaces and everything else are left out. The result is a schema of its
own that ``test_contract.py`` validates every query and its variables against.
"""

from __future__ import annotations

import sys

from graphql import (
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
)

FIELDS: dict[str, dict[str, list[str]]] = {
    "Query": {"issues": ["after", "filter", "first", "includeArchived"]},
    "Mutation": {"issueCreate": ["input"]},
    "IssuePayload": {"success": [], "issue": []},
    "Issue": {
        name: []
        for name in (
            "id",
            "identifier",
            "url",
            "title",
            "createdAt",
            "updatedAt",
            "startedAt",
            "completedAt",
            "canceledAt",
            "trashed",
            "state",
        )
    },
    "WorkflowState": {"id": [], "name": [], "type": []},
    "IssueConnection": {"nodes": [], "pageInfo": []},
    "PageInfo": {"hasNextPage": [], "endCursor": []},
}
INPUT_FIELDS: dict[str, list[str]] = {
    "IssueFilter": ["id"],
    "IssueIDComparator": ["eq", "in"],
    "IssueCreateInput": ["id", "teamId", "title", "description", "labelIds", "priority", "assigneeId", "dueDate"],
}
SCALARS = ["DateTime", "TimelessDate"]


def description(text: str | None, indent: str) -> str:
    if not text:
        return ""
    body = text.replace('"""', '\\"""').replace("\n", "\n" + indent)
    return f'{indent}"""\n{indent}{body}\n{indent}"""\n'


def main(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        schema = build_schema(file.read(), assume_valid=True)
    out: list[str] = []
    for name in SCALARS:
        scalar = schema.get_type(name)
        assert isinstance(scalar, GraphQLScalarType)
        out.append(f"{description(scalar.description, '')}scalar {name}\n")
    for type_name, fields in FIELDS.items():
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType), type_name
        lines = [f"{description(graphql_type.description, '')}type {type_name} {{"]
        for field_name, arg_names in fields.items():
            field = graphql_type.fields[field_name]
            args = ""
            if arg_names:
                printed = []
                for arg_name in arg_names:
                    arg = field.args[arg_name]
                    printed.append(f"{description(arg.description, '    ')}    {arg_name}: {arg.type}")
                args = "(\n" + "\n".join(printed) + "\n  )"
            lines.append(f"{description(field.description, '  ')}  {field_name}{args}: {field.type}")
        out.append("\n".join(lines) + "\n}\n")
    for type_name, names in INPUT_FIELDS.items():
        input_type = schema.get_type(type_name)
        assert isinstance(input_type, GraphQLInputObjectType), type_name
        lines = [f"{description(input_type.description, '')}input {type_name} {{"]
        for field_name in names:
            field = input_type.fields[field_name]
            lines.append(f"{description(field.description, '  ')}  {field_name}: {field.type}")
        out.append("\n".join(lines) + "\n}\n")
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
