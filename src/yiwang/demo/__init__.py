"""Changshu demo data (演示数据) and simulators; everything here is labelled as demo data."""
