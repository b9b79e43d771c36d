"""`yiwang video import FILE.csv`: good rows registered, each refused row named with its reason."""

from tests.conftest import bearer, run_cli
from tests.video.helpers import new_code


def test_import_registers_good_rows_and_names_the_refused_ones(client, runtime, tmp_path):
    good, duplicate = new_code(), new_code()
    lines = [
        "code,device_code,name,department_code,lon,lat,address,status,hls_url",
        f"{good},,导入摄像头甲,CGJ,120.76,31.65,琴川街道,online,http://gateway.test/live/x/index.m3u8",
        f"{duplicate},,导入摄像头乙,CGJ,120.77,31.66,琴川街道,offline,",
        f"{duplicate},,重复编码,CGJ,120.77,31.66,,online,",
        "32058100081329000001,,网络标识错误,CGJ,120.77,31.66,,online,",
        f"{new_code()},,经度越界,CGJ,200,31.66,,online,",
    ]
    path = tmp_path / "cameras.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    result = run_cli(runtime, "video", "import", str(path))
    assert result.exit_code == 1, result.output
    assert "已登记摄像头 2 路" in result.output
    assert "第 4 行未导入" in result.output and "已登记" in result.output
    assert "第 5 行未导入" in result.output and "网络标识" in result.output
    assert "第 6 行未导入" in result.output
    camera = client.get(f"/api/video/cameras/{good}", headers=bearer(client, "cgj_admin")).json()
    assert camera["department_name"] and camera["status"] == "online"
