from yiwang.cli import app

app()
