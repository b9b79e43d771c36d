"""Governance pipeline throughput: a person-like CSV (12 columns, 2% invalid rows) through the whole
ingest (decode, parse, normalise, validate, de-duplicate, quarantine, Parquet snapshot, quality
report), against a bare Polars CSV→Parquet copy of the same file measured in the same run.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--repeat 3]

Prints one JSON line. Target: ≥ 400,000 rows/s end to end and ≤ 3× the bare copy.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from yiwang.catalog.schemas import InfoItem
from yiwang.governance import pipeline

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
)
TOWNS = [
    "虞山街道",
    "常福街道",
    "琴川街道",
    "莫城街道",
    "碧溪街道",
    "东南街道",
    "梅李镇",
    "海虞镇",
    "古里镇",
    "沙家浜镇",
]

ITEMS = [
    InfoItem(name="person_id", label="人员编号", required=True, is_key=True, length=12),
    InfoItem(name="name", label="姓名", required=True, masking="name", sensitivity=3),
    InfoItem(
        name="id_number", label="身份证号码", required=True, validator="id_number", masking="id_number", sensitivity=4
    ),
    InfoItem(name="gender", label="性别", validator="enum", validator_arg="男|女"),
    InfoItem(name="birth_date", label="出生日期", data_type="date", masking="year", sensitivity=3),
    InfoItem(name="mobile", label="手机号码", validator="mobile", masking="mobile", sensitivity=3),
    InfoItem(name="email", label="电子邮箱", validator="email", masking="email", sensitivity=3),
    InfoItem(name="division_code", label="行政区划代码", validator="division_code"),
    InfoItem(name="address", label="住址", masking="address", sensitivity=3),
    InfoItem(name="household_size", label="户内人数", data_type="integer", validator="range", validator_arg="1,20"),
    InfoItem(name="income", label="年收入", data_type="number", validator="range", validator_arg="0,"),
    InfoItem(name="registered_at", label="登记日期", data_type="date", validator="date"),
]


def _pick(values: list[str], seed: int) -> pl.Expr:
    return (pl.col("i").hash(seed) % len(values)).cast(pl.Int64).replace_strict(dict(enumerate(values)))


def person_frame(rows: int, invalid_share: float = 0.02) -> pl.DataFrame:
    """Person-like records generated with Polars expressions (valid check characters included)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    frame = pl.DataFrame({"i": pl.int_range(0, rows, eager=True)})
    birth = pl.lit(date(1940, 1, 1)) + pl.duration(days=(pl.col("i").hash(1) % 25000).cast(pl.Int64))
    frame = frame.with_columns(
        birth.alias("birth"),
        ("320581" + birth.dt.strftime("%Y%m%d") + (pl.col("i").hash(2) % 1000).cast(pl.String).str.zfill(3)).alias(
            "id17"
        ),
    )
    total = pl.sum_horizontal([pl.col("id17").str.slice(n, 1).cast(pl.Int32) * w for n, w in enumerate(weights)])
    check = (total % 11).replace_strict(dict(enumerate("10X98765432")), return_dtype=pl.String)
    bad = (pl.col("i").hash(9) % 10000) < int(invalid_share * 10000)
    kind = pl.col("i").hash(10) % 5  # 0 ID check character, 1 mobile, 2 e-mail, 3 out of range, 4 repeated key
    frame = frame.with_columns((pl.col("id17") + check).alias("id_number"))
    frame = frame.select(
        (
            "P"
            + pl.when(bad & (kind == 4) & (pl.col("i") > 0))
            .then(pl.col("i") - 1)
            .otherwise(pl.col("i"))
            .cast(pl.String)
            .str.zfill(9)
        ).alias("person_id"),
        (_pick(SURNAMES, 3) + _pick(GIVEN, 4) + _pick(GIVEN, 5)).alias("name"),
        pl.when(bad & (kind == 0))
        .then(pl.col("id_number").str.slice(0, 17) + "0")
        .otherwise(pl.col("id_number"))
        .alias("id_number"),
        pl.when(pl.col("id17").str.slice(16, 1).cast(pl.Int32) % 2 == 1)
        .then(pl.lit("男"))
        .otherwise(pl.lit("女"))
        .alias("gender"),
        pl.col("birth").dt.strftime("%Y-%m-%d").alias("birth_date"),
        pl.when(bad & (kind == 1))
        .then(pl.lit("1234567"))
        .otherwise("13" + (pl.col("i").hash(6) % 1_000_000_000).cast(pl.String).str.zfill(9))
        .alias("mobile"),
        pl.when(bad & (kind == 2))
        .then(pl.lit("not-an-email"))
        .otherwise("user" + pl.col("i").cast(pl.String) + "@example.cn")
        .alias("email"),
        ("320581" + (pl.col("i").hash(7) % 14 + 1).cast(pl.String).str.zfill(3)).alias("division_code"),
        ("常熟市" + _pick(TOWNS, 8) + (pl.col("i").hash(11) % 300 + 1).cast(pl.String) + "号").alias("address"),
        pl.when(bad & (kind == 3))
        .then(pl.lit("99"))
        .otherwise((pl.col("i").hash(12) % 6 + 1).cast(pl.String))
        .alias("household_size"),
        ((pl.col("i").hash(13) % 30000000) / 100).cast(pl.String).alias("income"),
        (pl.lit(date(2015, 1, 1)) + pl.duration(days=(pl.col("i").hash(14) % 4000).cast(pl.Int64)))
        .dt.strftime("%Y-%m-%d")
        .alias("registered_at"),
    )
    return frame


def write_csv(path: Path, rows: int) -> None:
    person_frame(rows).write_csv(path)


def governance_run(csv: Path, out: Path) -> dict:
    """What `yiwang ingest` does minus the database: the same functions the service calls."""
    raw = csv.read_bytes()
    frame, encoding = pipeline.read_csv(raw)
    frame = pipeline.align_columns(frame, ITEMS)
    result = pipeline.process(frame, ITEMS)
    out.mkdir(parents=True, exist_ok=True)
    result.clean.write_parquet(out / "data.parquet")
    result.quarantine.write_parquet(out / "quarantine.parquet")
    return result.report | {"encoding": encoding}


def bare_copy(csv: Path, out: Path) -> None:
    pl.read_csv(csv).write_parquet(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "persons.csv"
        started = time.perf_counter()
        write_csv(csv, args.rows)
        generate_seconds = time.perf_counter() - started
        bare, full, report = [], [], {}
        for n in range(args.repeat):
            started = time.perf_counter()
            bare_copy(csv, folder / f"bare{n}.parquet")
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            report = governance_run(csv, folder / f"run{n}")
            full.append(time.perf_counter() - started)
        best_full, best_bare = min(full), min(bare)
        print(
            json.dumps(
                {
                    "benchmark": "governance_ingest",
                    "rows": args.rows,
                    "columns": len(ITEMS),
                    "csv_bytes": csv.stat().st_size,
                    "generate_seconds": round(generate_seconds, 3),
                    "pipeline_seconds": round(best_full, 3),
                    "rows_per_second": round(args.rows / best_full),
                    "bare_copy_seconds": round(best_bare, 3),
                    "ratio_to_bare_copy": round(best_full / best_bare, 2),
                    "rows_out": report["rows_out"],
                    "rows_quarantined": report["rows_quarantined"],
                    "duplicates": report["duplicates"],
                    "target": {"rows_per_second": 400000, "max_ratio": 3.0},
                    "runs": {"pipeline": [round(x, 3) for x in full], "bare": [round(x, 3) for x in bare]},
                    "polars": pl.__version__,
                    "platform": platform.platform(),
                    "cpu_count": os.cpu_count(),
                },
                ensure_ascii=False,
            )
        )


if __name__ == "__main__":
    main()
