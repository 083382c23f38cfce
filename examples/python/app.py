"""A Spacelift worker pool from Python: Graviton workers, a business-hours idle floor, the pool
credentials and API key read from secrets you created beforehand, and the pool's alarms sent to an
SNS topic you created beforehand, with its dashboard.

Install with ``pip install cdk-ec2-workerpool aws-cdk-lib constructs`` and run ``cdk synth``
with ``"app": "python3 app.py"`` in ``cdk.json``.
"""
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from cdk_ec2_workerpool import (
    AutoscalingOptions,
    IdleWorkersWindow,
    PoolMonitoringOptions,
    SpaceliftApiKey,
    SpaceliftWorkerPool,
    WorkerPoolCredentials,
)


class WorkerPoolStack(cdk.Stack):
    def __init__(self, scope: cdk.App, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        pool = SpaceliftWorkerPool(
            self,
            "Pool",
            vpc=vpc,
            worker_pool_id="01J9ZQ4W8R6T2K3M5N7P9X1Y2Z",
            credentials=WorkerPoolCredentials.from_secret(
                secretsmanager.Secret.from_secret_name_v2(self, "PoolCredentials", "spacelift/pool"),
            ),
            spacelift_api_key=SpaceliftApiKey.from_secret(
                endpoint="https://acme.app.spacelift.io",
                api_key_id="01J9ZQ4W8R6T2K3M5N7P9APIKY",
                secret=secretsmanager.Secret.from_secret_name_v2(self, "ApiKey", "spacelift/api-key"),
            ),
            instance_type=ec2.InstanceType("t4g.medium"),
            max_size=10,
            autoscaling=AutoscalingOptions(
                idle_workers_windows=[
                    IdleWorkersWindow(
                        timezone="Europe/Berlin",
                        days_of_week=[1, 2, 3, 4, 5],
                        start="08:00",
                        end="18:00",
                        min_idle=2,
                    )
                ],
            ),
            monitoring=PoolMonitoringOptions(
                alarm_topic=sns.Topic.from_topic_arn(
                    self, "Alarms", "arn:aws:sns:us-east-1:123456789012:spacelift-alarms"
                ),
                dashboard=True,
            ),
        )
        cdk.CfnOutput(self, "AutoScalingGroupName", value=pool.auto_scaling_group.auto_scaling_group_name)


app = cdk.App()
WorkerPoolStack(app, "PythonWorkerPool", env=cdk.Environment(account="123456789012", region="us-east-1"))
app.synth()
