"""All of Clearway's SQL: a module per group of tables, each table written by exactly one module.

What one stage needs from another travels in event metadata, not by reading the other stage's
table.
"""
