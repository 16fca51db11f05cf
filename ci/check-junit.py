#!/usr/bin/env python3
"""Checks that a JUnit XML file has the elements a JUnit consumer requires.

Usage: ci/check-junit.py FILE [MIN_TESTCASES]
"""
import sys
import xml.etree.ElementTree as ET

path = sys.argv[1]
minimum = int(sys.argv[2]) if len(sys.argv) > 2 else 1
root = ET.parse(path).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
assert root.tag in ("testsuites", "testsuite"), f"root is <{root.tag}>"
assert suites, "no <testsuite>"
cases = 0
for s in suites:
    for attr in ("name", "tests", "failures"):
        assert attr in s.attrib, f"<testsuite> lacks {attr}"
    found = s.findall("testcase")
    assert int(s.attrib["tests"]) == len(found), "tests= does not match the <testcase> count"
    for c in found:
        assert "name" in c.attrib and "classname" in c.attrib, "<testcase> lacks name/classname"
        float(c.attrib.get("time", "0"))
    cases += len(found)
assert cases >= minimum, f"{cases} testcases, expected at least {minimum}"
print(f"{path}: {cases} testcases, valid JUnit")
