"""How 城市智脑 plugs into the platform."""

from pathlib import Path

from yiwang.brain import api, demo, jobs, pages
from yiwang.brain import permissions as p
from yiwang.domains import DomainPlugin
from yiwang.web.nav import Entry


def plugin() -> DomainPlugin:
    return DomainPlugin(
        name="brain",
        routers=[api.router, pages.router],
        template_dir=Path(__file__).parent / "templates",
        nav=[
            Entry("brain", "驾驶舱", "/brain/cockpit", "大屏：城市体征、地图、指标、预警", p.BRAIN_READ, 10),
            Entry("brain", "领导总览", "/brain", "笔记本和手机上查看同样的数字", p.BRAIN_READ, 20),
            Entry("brain", "指标体系", "/brain/indicators", "“十四五”20项指标、状态与明细", p.BRAIN_READ, 30),
            Entry("brain", "预警与预测", "/brain/warnings", "体征异常预警，AQI、水位、事件量预测", p.BRAIN_READ, 40),
            Entry("brain", "考核评估", "/brain/evaluation", "部门和镇（街道）综合得分与排名", p.BRAIN_READ, 50),
            Entry("brain", "月度报告", "/brain/report", "指标、体征、排名，可在线查看或下载 PDF", p.BRAIN_READ, 60),
            Entry(
                "brain", "指标台账", "/brain/registries", "信息系统、一卡通、生态企业、向上对接", p.REGISTRY_WRITE, 70
            ),
        ],
        jobs=jobs.jobs,
        demo=demo.load,
    )
